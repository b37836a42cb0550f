import { CredbridgeError, isCredbridgeError, maskAccessKeyId } from "@credbridge/core";
import { rfc3339Seconds } from "@credbridge/core/wire";
import type { AwsCredentialIdentity } from "@smithy/types";
import type { SharedFileOptions, WriteResult } from "./file-options.js";
import { updateFile } from "./internal/atomic-write.js";
import { resolveFileRequest } from "./internal/file-request.js";
import { readSections, upsertSection } from "./internal/ini-merge.js";
import { checkCredentialValue, checkProfileName } from "./internal/validate.js";

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
  /**
   * Credentials with less than this many seconds left are not written:
   * checked when the call starts and again under the lock just before the
   * rename, so neither a wait for the lock nor a stalled process puts
   * credentials inside the margin on disk (the call rejects with ERR_EXPIRED,
   * the file keeps what it held). Default 0: only expired ones are refused.
   */
  minRemainingSeconds?: number | undefined;
}

/** Throws ERR_EXPIRED unless credentials expiring at `at` have at least `minRemainingMs` left at `now`. */
const refuseShort = (credentials: AwsCredentialIdentity, at: number, now: number, minRemainingMs: number) => {
  if (at - now >= minRemainingMs && at > now) return;
  const when = new Date(at).toISOString();
  const key = maskAccessKeyId(credentials.accessKeyId);
  throw new CredbridgeError(
    at <= now
      ? `writer: refusing to write credentials (key ${key}) that expired at ${when}; the file keeps what it held. Check the source's clock and session duration.`
      : `writer: refusing to write credentials (key ${key}) that expire at ${when}, ${Math.floor((at - now) / 1000)} s from now, less than the ${minRemainingMs / 1000} s every output keeps; the file keeps what it held.`,
    { code: "ERR_EXPIRED" },
  );
};

const expirationOf = (credentials: AwsCredentialIdentity): number | undefined => {
  const expiration = credentials.expiration;
  if (expiration === undefined) return undefined;
  const at = expiration instanceof Date ? expiration.getTime() : Number.NaN;
  if (!Number.isFinite(at)) {
    throw new CredbridgeError("writer: credentials.expiration must be a valid Date", {
      code: "ERR_CONFIG",
    });
  }
  return at;
};

const credentialEntries = (
  credentials: AwsCredentialIdentity,
  securityToken: boolean,
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
  const at = expirationOf(credentials);
  if (at !== undefined) entries.push([EXPIRATION_KEY, rfc3339Seconds(new Date(at))]);
  return entries;
};

/**
 * Throws the CredbridgeError (ERR_CONFIG) {@link writeProfiles} would throw for
 * these credentials (a value no SDK reads back, an invalid expiration): a
 * caller writing several profiles checks each alone, so one profile's bad
 * credentials never hold back the others'.
 */
export const checkWritableCredentials = (credentials: AwsCredentialIdentity): void => {
  credentialEntries(credentials, true);
};

/** The expiration the profile's section in `text` records, if any (see {@link EXPIRATION_KEY}). */
const recordedExpiration = (text: string | undefined, profile: string): number | undefined => {
  if (text === undefined) return undefined;
  const value = readSections(text).get(profile)?.[EXPIRATION_KEY];
  const at = value === undefined ? Number.NaN : Date.parse(value);
  return Number.isFinite(at) ? at : undefined;
};

/** One profile's credentials, for {@link writeProfiles}. */
export interface ProfileCredentials {
  profile: string;
  credentials: AwsCredentialIdentity;
}

/**
 * Writes `credentials` into a profile of the shared credentials file, keeping
 * every other profile and every other key of this one untouched. Locked and
 * atomic: readers see the old file or the new one, whole, and concurrent
 * writers never lose each other's profiles.
 *
 * Never goes backwards: when the profile already holds credentials that
 * expire later (by its {@link EXPIRATION_KEY}, written by a writer that got
 * newer ones while this one waited or stalled), they are kept and `changed`
 * is false; `expiration` tells what the profile holds. Rejects with a
 * CredentialsFileError naming the path (the old file left intact) or a
 * CredbridgeError for bad input or credentials inside `minRemainingSeconds`.
 */
export const writeCredentials = async (
  credentials: AwsCredentialIdentity,
  options: WriteCredentialsOptions = {},
): Promise<WriteResult> => {
  const req = resolveFileRequest("credentials", options);
  const [result] = await writeProfiles([{ profile: req.profile, credentials }], options);
  return result!;
};

/**
 * {@link writeCredentials} for several profiles at once, in ONE locked atomic
 * write: a reader sees every section old or every section new, and sections
 * not named here are kept byte for byte. Each profile keeps its own rules
 * (never backwards, the margin); one profile's credentials inside the margin
 * refuse the whole write (ERR_EXPIRED naming the profile), so the caller can
 * drop them and write the others. Results in the order given.
 */
export const writeProfiles = async (
  items: readonly ProfileCredentials[],
  options: WriteCredentialsOptions = {},
): Promise<WriteResult[]> => {
  const req = resolveFileRequest("credentials", options);
  const minRemainingMs = (options.minRemainingSeconds ?? 0) * 1000;
  if (!Number.isFinite(minRemainingMs) || minRemainingMs < 0) {
    throw new CredbridgeError(
      `writer: minRemainingSeconds must be a non-negative number of seconds, got ${options.minRemainingSeconds}`,
      { code: "ERR_CONFIG" },
    );
  }
  const seen = new Set<string>();
  const planned = items.map(({ profile, credentials }) => {
    const name = checkProfileName(profile);
    if (seen.has(name)) {
      throw new CredbridgeError(`writer: profile ${name} is named twice in one write`, {
        code: "ERR_CONFIG",
      });
    }
    seen.add(name);
    let entries: Array<[string, string]>;
    try {
      entries = credentialEntries(credentials, options.securityToken ?? true);
    } catch (error) {
      if (items.length === 1 || !isCredbridgeError(error)) throw error;
      // Name the profile whose credentials are refused: the others are fine.
      throw new CredbridgeError(`[${name}] ${error.message}`, { code: error.code, cause: error });
    }
    return {
      profile: name,
      credentials,
      entries,
      expiresAt: expirationOf(credentials),
      kept: undefined as number | undefined,
    };
  });
  /** Checked when the call starts and, under the lock, just before the rename. */
  const stillWorthWriting = () => {
    for (const p of planned) {
      if (p.expiresAt === undefined || p.kept !== undefined) continue;
      try {
        refuseShort(p.credentials, p.expiresAt, req.deps.now(), minRemainingMs);
      } catch (error) {
        if (planned.length === 1) throw error;
        throw new CredbridgeError(`[${p.profile}] ${(error as Error).message}`, {
          code: "ERR_EXPIRED",
          cause: error,
        });
      }
    }
  };
  stillWorthWriting();
  const changed = await updateFile({
    ...req,
    create: true,
    update: (current) => {
      let text = current ?? "";
      let edited = false;
      for (const p of planned) {
        p.kept = undefined;
        const recorded = recordedExpiration(current, p.profile);
        if (p.expiresAt !== undefined && recorded !== undefined && recorded > p.expiresAt) p.kept = recorded;
      }
      stillWorthWriting();
      for (const p of planned) {
        if (p.kept !== undefined) continue;
        text = upsertSection(text, p.profile, p.entries, { remove: MANAGED_KEYS });
        edited = true;
      }
      return edited ? text : undefined;
    },
    beforeRename: stillWorthWriting,
  });
  return planned.map((p) => {
    const key = maskAccessKeyId(p.credentials.accessKeyId);
    if (p.kept !== undefined) {
      req.logger?.info?.(
        `credbridge: kept profile ${p.profile} of ${req.path}: it holds credentials expiring ${new Date(p.kept).toISOString()}, later than these (key ${key}, expiring ${p.credentials.expiration?.toISOString()}), written by another writer meanwhile`,
      );
    } else {
      req.logger?.debug?.(
        `credbridge: wrote profile ${p.profile} to ${req.path} (key ${key}, expires ${p.credentials.expiration?.toISOString() ?? "never"})`,
      );
    }
    const expiration = p.kept ?? p.expiresAt;
    return {
      path: req.path,
      profile: p.profile,
      changed: changed && p.kept === undefined,
      ...(expiration === undefined ? {} : { expiration: new Date(expiration) }),
    };
  });
};
