import { parseRoleArn } from "@credbridge/core/wire";
import { refuseIgnored } from "../args/ignored.js";
import { UsageError } from "../args/usage-error.js";
import type { Command } from "../context.js";
import { printPolicy } from "../policies/document.js";
import { ISSUER_FORM, parseIssuer } from "../policies/oidc-issuer.js";
import { policyRole } from "../policies/policy-role.js";
import { assumedByTrustPolicy, irsaTrustPolicy, podIdentityTrustPolicy } from "../policies/trust.js";

/** Kubernetes names: DNS-1123 labels (namespaces) and subdomains (service accounts). */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** `credbridge trust-policy`: the IAM trust policy JSON for IRSA or EKS Pod Identity. */
export const trustPolicyCommand: Command<"trust-policy"> = async (ctx) => {
  const f = ctx.flags;
  const fail = (message: string) => new UsageError(message, "trust-policy");
  const irsa = f.irsa === true;
  const pod = f["pod-identity"] === true;
  const assumedBy = f["assumed-by"];
  if (assumedBy !== undefined) {
    if (irsa || pod) {
      throw fail(
        "--assumed-by is the trust policy of a profile's hop role: give it without --irsa or --pod-identity",
      );
    }
    refuseIgnored(ctx, ["oidc-issuer", "namespace", "service-account", "account-id"], "with --assumed-by");
    // The pod role's own flags, when typed with --assumed-by (the sidecar's variables may well be set).
    refuseIgnored(
      ctx,
      (["role-arn", "self-assume"] as const).filter((flag) => ctx.origins[flag] === "argv"),
      "with --assumed-by (the trusted role is --assumed-by itself)",
    );
    if (!parseRoleArn(assumedBy)) {
      throw fail(
        `--assumed-by ${JSON.stringify(assumedBy)} is not a role ARN (arn:aws:iam::<12-digit account>:role/<name>)`,
      );
    }
    ctx.stdout(printPolicy(assumedByTrustPolicy({ principalArn: assumedBy, externalId: f["external-id"] })));
    return 0;
  }
  if (f["external-id"] !== undefined) throw fail("--external-id goes with --assumed-by");
  if (irsa === pod) throw fail("choose exactly one of --irsa or --pod-identity (or --assumed-by)");
  if (pod) {
    refuseIgnored(ctx, ["oidc-issuer", "namespace", "service-account", "account-id"], "with --pod-identity");
    // The role is printed only as its own trusted principal; AWS_ROLE_ARN, set in every IRSA pod, is left alone.
    if (f["self-assume"] !== true)
      refuseIgnored(ctx, ["role-arn"], "with --pod-identity without --self-assume");
  }
  // IRSA takes the account from the role unless --account-id names it.
  const role = policyRole(ctx, irsa && f["account-id"] === undefined);
  const selfAssumeRoleArn = f["self-assume"] === true ? role?.arn : undefined;
  if (pod) {
    ctx.stdout(printPolicy(podIdentityTrustPolicy({ selfAssumeRoleArn })));
    return 0;
  }
  const issuer = f["oidc-issuer"];
  const namespace = f.namespace;
  const serviceAccount = f["service-account"];
  const missing = [
    !issuer && "--oidc-issuer",
    !namespace && "--namespace",
    !serviceAccount && "--service-account",
  ].filter(Boolean);
  if (missing.length) throw fail(`--irsa needs ${missing.join(", ")}`);
  const parsed = parseIssuer(issuer!);
  if ("problem" in parsed) {
    const shown = JSON.stringify(issuer!.length > 120 ? `${issuer!.slice(0, 120)}…` : issuer);
    throw fail(`--oidc-issuer ${shown} ${parsed.problem}; expected ${ISSUER_FORM}`);
  }
  for (const [flag, value] of [
    ["--namespace", namespace!],
    ["--service-account", serviceAccount!],
  ] as const) {
    if (!K8S_NAME.test(value))
      throw fail(`${flag} "${value}" is not a Kubernetes name (lower-case letters, digits, '-', '.')`);
  }
  const given = f["account-id"];
  if (given !== undefined && !/^\d{12}$/.test(given)) {
    throw fail(`--account-id must be 12 digits, got "${given}"`);
  }
  // A role trusts only an OIDC provider registered in its own account.
  if (given !== undefined && role && given !== role.accountId) {
    throw fail(
      `--account-id ${given} is not the account of the role ${role.arn}: a role trusts only an OIDC provider of its own account`,
    );
  }
  const accountId = given ?? role?.accountId;
  if (!accountId) {
    throw fail(
      "--irsa needs the role's account, where the OIDC provider is registered: --account-id <12 digits> or --role-arn <role ARN>",
    );
  }
  const policy = irsaTrustPolicy({
    accountId,
    issuerHostPath: parsed.hostPath,
    namespace: namespace!,
    serviceAccount: serviceAccount!,
    partition: role?.partition ?? "aws",
    selfAssumeRoleArn,
  });
  ctx.stdout(printPolicy(policy));
  return 0;
};
