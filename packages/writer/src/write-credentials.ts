import { CredbridgeError, maskAccessKeyId } from "@credbridge/core";
import { rfc3339Seconds } from "@credbridge/core/wire";
import type { AwsCredentialIdentity } from "@smithy/types";
import type { SharedFileOptions, WriteResult } from "./file-options.js";
import { updateFile } from "./internal/atomic-write.js";
import { resolveFileRequest } from "./internal/file-request.js";
import { upsertSection } from "./internal/ini-merge.js";
import { checkCredentialValue } from "./internal/validate.js";

/**
 * The key the expiration is written under. No AWS SDK reads it (they ignore keys
 * they do not know); it is the name saml2aws, okta-aws-cli and shell prompts
 * already use for exactly this, so existing tooling can show it.
 */
export const EXPIRATION_KEY = "x_security_token_expires";

/** Every key this writer owns in a credentials profile; stale ones are removed on each write. */
const MANAGED_KEYS = new Set([
  "aws_access_key_id",
  "aws_secret_access_key",
  "aws_session_token",
  "aws_security_token",
  "aws_account_id",
  EXPIRATION_KEY,
]);

export interface WriteCredentialsOptions extends SharedFileOptions {
  /**
   * Also write the session token as `aws_security_token`, the name boto and
   * older SDKs read (botocore reads it before `aws_session_token`). Default true.
   * When false, any `aws_security_token` in the profile is removed so it cannot
   * shadow the new token.
   */
  securityToken?: boolean | undefined;
}

const credentialEntries = (
  credentials: AwsCredentialIdentity,
  securityToken: boolean,
  now: number,
): Array<[string, string]> => {
  if (typeof credentials !== "object" || credentials === null) {
    throw new CredbridgeError("writer: credentials must be an object with accessKeyId and secretAccessKey", {
      code: "ERR_CONFIG",
    });
  }
  const entries: Array<[string, string]> = [
    ["aws_access_key_id", checkCredentialValue("accessKeyId", credentials.accessKeyId)],
    ["aws_secret_access_key", checkCredentialValue("secretAccessKey", credentials.secretAccessKey)],
  ];
  if (credentials.sessionToken !== undefined) {
    const token = checkCredentialValue("sessionToken", credentials.sessionToken);
    entries.push(["aws_session_token", token]);
    if (securityToken) entries.push(["aws_security_token", token]);
  }
  if (credentials.accountId !== undefined) {
    entries.push(["aws_account_id", checkCredentialValue("accountId", credentials.accountId)]);
  }
  const expiration = credentials.expiration;
  if (expiration !== undefined) {
    const at = expiration instanceof Date ? expiration.getTime() : Number.NaN;
    if (!Number.isFinite(at)) {
      throw new CredbridgeError("writer: credentials.expiration must be a valid Date", {
        code: "ERR_CONFIG",
      });
    }
    if (at <= now) {
      throw new CredbridgeError(
        `writer: refusing to write credentials (key ${maskAccessKeyId(credentials.accessKeyId)}) that expired at ${expiration.toISOString()}; the file keeps what it held. Check the source's clock and session duration.`,
        { code: "ERR_EXPIRED" },
      );
    }
    entries.push([EXPIRATION_KEY, rfc3339Seconds(expiration)]);
  }
  return entries;
};

/**
 * Writes `credentials` into a profile of the shared credentials file, keeping
 * every other profile and every other key of this one untouched. Locked and
 * atomic: readers see the old file or the new one, whole, and concurrent
 * writers never lose each other's profiles. Rejects with a CredentialsFileError
 * naming the path (the old file left intact) or a CredbridgeError for bad input.
 */
export const writeCredentials = async (
  credentials: AwsCredentialIdentity,
  options: WriteCredentialsOptions = {},
): Promise<WriteResult> => {
  const req = resolveFileRequest("credentials", options);
  const entries = credentialEntries(credentials, options.securityToken ?? true, req.deps.now());
  const changed = await updateFile({
    ...req,
    create: true,
    update: (current) => upsertSection(current ?? "", req.profile, entries, { remove: MANAGED_KEYS }),
  });
  req.logger?.debug?.(
    `credbridge: wrote profile ${req.profile} to ${req.path} (key ${maskAccessKeyId(credentials.accessKeyId)}, expires ${credentials.expiration?.toISOString() ?? "never"})`,
  );
  return { path: req.path, profile: req.profile, changed };
};
