import type { PolicyDocument } from "./document.js";

/**
 * Lets the role assume itself. Sessions from EKS Pod Identity carry transitive
 * session tags, and passing tags on needs sts:TagSession too.
 */
const selfAssumeStatement = (roleArn: string, tagSession = false) => ({
  Sid: "SelfAssume",
  Effect: "Allow",
  Principal: { AWS: roleArn },
  Action: tagSession ? ["sts:AssumeRole", "sts:TagSession"] : "sts:AssumeRole",
});

/**
 * IRSA: the cluster's OIDC provider may assume the role for exactly one service
 * account. StringEquals on both `sub` and `aud`: a StringLike wildcard would let
 * every service account in the cluster (or namespace) take the role.
 */
export const irsaTrustPolicy = (o: {
  accountId: string;
  issuerHostPath: string;
  namespace: string;
  serviceAccount: string;
  partition?: string;
  selfAssumeRoleArn?: string | undefined;
}): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "IrsaWebIdentity",
      Effect: "Allow",
      Principal: {
        Federated: `arn:${o.partition ?? "aws"}:iam::${o.accountId}:oidc-provider/${o.issuerHostPath}`,
      },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: {
          [`${o.issuerHostPath}:sub`]: `system:serviceaccount:${o.namespace}:${o.serviceAccount}`,
          [`${o.issuerHostPath}:aud`]: "sts.amazonaws.com",
        },
      },
    },
    ...(o.selfAssumeRoleArn ? [selfAssumeStatement(o.selfAssumeRoleArn)] : []),
  ],
});

/** EKS Pod Identity: the agent's service principal, which also tags the session. */
export const podIdentityTrustPolicy = (o: { selfAssumeRoleArn?: string | undefined }): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "EksPodIdentity",
      Effect: "Allow",
      Principal: { Service: "pods.eks.amazonaws.com" },
      Action: ["sts:AssumeRole", "sts:TagSession"],
    },
    ...(o.selfAssumeRoleArn ? [selfAssumeStatement(o.selfAssumeRoleArn, true)] : []),
  ],
});

/**
 * The trust policy of a role a named profile's hop (or an --assume-role hop)
 * assumes: the role of the hop before it may assume it (the pod's role for a
 * first hop), with the external id the hop sends when it sends one.
 * sts:TagSession too: a Pod Identity session's tags are transitive and go
 * along on every hop (an IRSA session carries none; the action then goes unused).
 */
export const assumedByTrustPolicy = (o: {
  principalArn: string;
  externalId?: string | undefined;
}): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "AssumedByPreviousHop",
      Effect: "Allow",
      Principal: { AWS: o.principalArn },
      Action: ["sts:AssumeRole", "sts:TagSession"],
      ...(o.externalId === undefined
        ? {}
        : { Condition: { StringEquals: { "sts:ExternalId": o.externalId } } }),
    },
  ],
});
