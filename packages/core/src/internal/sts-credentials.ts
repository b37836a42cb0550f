import type { Credentials } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@smithy/types";
import { CredbridgeError } from "../errors.js";

/** Account id from an ARN such as `arn:aws:sts::123456789012:assumed-role/r/s`. */
export const accountIdOf = (arn: string | undefined): string | undefined => arn?.split(":")[4] || undefined;

/** STS's `Credentials` as an SDK identity; every field must be present. */
export const fromStsCredentials = (
  credentials: Credentials | undefined,
  action: string,
  roleArn: string,
  assumedRoleArn: string | undefined,
): AwsCredentialIdentity => {
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = credentials ?? {};
  if (!AccessKeyId || !SecretAccessKey || !SessionToken || !Expiration) {
    throw new CredbridgeError(`sts:${action} for ${roleArn} answered without complete credentials`, {
      code: "ERR_INVALID_RESPONSE",
    });
  }
  const accountId = accountIdOf(assumedRoleArn);
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    sessionToken: SessionToken,
    expiration: Expiration,
    ...(accountId ? { accountId } : {}),
  };
};
