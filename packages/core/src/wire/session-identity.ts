import type { AwsCredentialIdentity } from "@smithy/types";
import { formatRoleArn, parseAssumedRoleArn, parseRoleArn } from "./arn.js";

/**
 * Credentials as credbridge's STS providers return them: besides `accountId`
 * (which the SDK's own identity type carries), the role STS says the session
 * belongs to. Servers name it instead of anything from the environment.
 */
export interface RoleSessionCredentials extends AwsCredentialIdentity {
  /** `arn:aws:iam::<account>:role/<path/>name`, from STS's `AssumedRoleUser.Arn`. */
  readonly roleArn?: string;
}

/**
 * The role STS confirmed in `assumedRoleArn`: the requested ARN when STS names
 * the same partition, account and role (it alone knows the role's path), else
 * the one derived from STS's answer; undefined when the answer is no
 * assumed-role ARN.
 */
export const confirmedRoleArn = (
  assumedRoleArn: string | undefined,
  requestedRoleArn: string | undefined,
): string | undefined => {
  const session = assumedRoleArn === undefined ? undefined : parseAssumedRoleArn(assumedRoleArn);
  if (!session) return undefined;
  const requested = requestedRoleArn === undefined ? undefined : parseRoleArn(requestedRoleArn);
  const same =
    requested &&
    requested.partition === session.partition &&
    requested.accountId === session.accountId &&
    requested.roleName === session.roleName;
  return same ? formatRoleArn(requested) : formatRoleArn(session);
};

/** Who the credentials act as, from the credentials themselves: what servers put beside them. */
export interface SessionIdentity {
  accountId: string | undefined;
  roleArn: string | undefined;
  /** The role's name, for IMDS's `security-credentials/` listing. */
  roleName: string | undefined;
  partition: string | undefined;
}

export const sessionIdentity = (credentials: AwsCredentialIdentity): SessionIdentity => {
  const carried = (credentials as RoleSessionCredentials).roleArn;
  const role = typeof carried === "string" ? parseRoleArn(carried) : undefined;
  return {
    accountId: credentials.accountId || role?.accountId,
    roleArn: role ? carried : undefined,
    roleName: role?.roleName,
    partition: role?.partition,
  };
};
