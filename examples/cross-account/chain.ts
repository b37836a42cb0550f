/**
 * A cross-account chain in process: the pod's own role (IRSA or Pod Identity),
 * then a role in account 444455556666 that trusts it with an external id
 * (examples/iam/cross-account/). The sidecar does the same with
 * CREDBRIDGE_ASSUME_ROLE; see README.md beside this file.
 */
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { chainRoles, fromAmbient, type RefreshingProvider, refreshing } from "@credbridge/core";

export const TARGET_ROLE_ARN = "arn:aws:iam::444455556666:role/registry-replication";

/**
 * Credentials for the target account. Each hop is signed with the previous
 * hop's current credentials; `refreshing` caches the last hop and renews it
 * before it expires. Every hop is a chained session: one hour at most.
 */
export const replicationCredentials = (env: NodeJS.ProcessEnv = process.env): RefreshingProvider =>
  refreshing(
    chainRoles(fromAmbient({ runtime: { env } }), [
      {
        roleArn: TARGET_ROLE_ARN,
        // Not a secret, but what the target's trust policy checks: keep it out of code.
        externalId: env.REPLICATION_EXTERNAL_ID,
        roleSessionName: "harbor-replication",
        runtime: { env },
      },
    ]),
    { name: "registry-replication", runtime: { env } },
  );

/** Which identity the chain ends in. */
export const whoAmI = async (credentials: RefreshingProvider): Promise<string | undefined> => {
  const sts = new STSClient({ credentials });
  try {
    return (await sts.send(new GetCallerIdentityCommand({}))).Arn;
  } finally {
    sts.destroy();
  }
};
