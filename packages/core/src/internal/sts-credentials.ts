import type { Credentials } from "@aws-sdk/client-sts";
import { CredbridgeError } from "../errors.js";
import { parseAssumedRoleArn } from "../wire/arn.js";
import { confirmedRoleArn, type RoleSessionCredentials } from "../wire/session-identity.js";

/**
 * STS's `Credentials` as an SDK identity; every field must be present. The
 * account and role come from STS's `AssumedRoleUser.Arn`, so whoever serves
 * these credentials names the session they really are, not the role some
 * earlier hop or the environment asked for.
 */
export const fromStsCredentials = (
  credentials: Credentials | undefined,
  action: string,
  roleArn: string,
  assumedRoleArn: string | undefined,
): RoleSessionCredentials => {
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = credentials ?? {};
  if (!AccessKeyId || !SecretAccessKey || !SessionToken || !Expiration) {
    throw new CredbridgeError(`sts:${action} for ${roleArn} answered without complete credentials`, {
      code: "ERR_INVALID_RESPONSE",
    });
  }
  const accountId = assumedRoleArn === undefined ? undefined : parseAssumedRoleArn(assumedRoleArn)?.accountId;
  const confirmed = confirmedRoleArn(assumedRoleArn, roleArn);
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    sessionToken: SessionToken,
    expiration: Expiration,
    ...(accountId ? { accountId } : {}),
    ...(confirmed ? { roleArn: confirmed } : {}),
  };
};
