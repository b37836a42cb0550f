import { CredbridgeError } from "@credbridge/core";
import type { AwsCredentialIdentity } from "@smithy/types";
import type { ProcessCredentials } from "./cache.js";

export const toProcessCredentials = (c: AwsCredentialIdentity): ProcessCredentials => {
  if (!c.expiration) {
    throw new CredbridgeError(
      "the source returned long-term credentials without an expiration; credential_process output would never refresh",
      { code: "ERR_INVALID_RESPONSE" },
    );
  }
  return {
    Version: 1,
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    ...(c.sessionToken ? { SessionToken: c.sessionToken } : {}),
    Expiration: c.expiration.toISOString(),
    ...(c.accountId ? { AccountId: c.accountId } : {}),
  };
};
