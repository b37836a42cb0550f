import { CredbridgeError } from "@credbridge/core";
import type { FileOwner } from "../file-options.js";

const configError = (message: string) => new CredbridgeError(`writer: ${message}`, { code: "ERR_CONFIG" });

/**
 * The characters the AWS SDK for JavaScript v3 accepts in a `[profile NAME]`
 * header; a name outside them is silently ignored by v3, and `__proto__` is refused.
 * botocore and aws-sdk-go read every name in this set.
 */
const PROFILE_NAME = /^[\w\-@+.%:/]+$/;

export const checkProfileName = (profile: string): string => {
  if (typeof profile !== "string" || !PROFILE_NAME.test(profile) || profile === "__proto__") {
    throw configError(
      `invalid profile name ${JSON.stringify(profile)}: use letters, digits and _-@+.%:/ only, the names every AWS SDK can read`,
    );
  }
  return profile;
};

/** Keys in a config profile: what botocore, v3 and aws-sdk-go treat as a plain setting. */
const SETTING_KEY = /^[A-Za-z0-9_-]+$/;

export const checkSettingKey = (key: string): string => {
  if (!SETTING_KEY.test(key)) {
    throw configError(`invalid setting name ${JSON.stringify(key)}: use letters, digits, _ and - only`);
  }
  return key;
};

/**
 * A credential value goes on one line and is read back verbatim by every SDK:
 * printable ASCII without spaces (access keys, secrets and base64 tokens are).
 */
export const checkCredentialValue = (name: string, value: unknown): string => {
  if (typeof value !== "string" || !/^[\x21-\x7e]+$/.test(value)) {
    throw configError(
      `credentials.${name} must be a non-empty string of printable ASCII without spaces; refusing to write it`,
    );
  }
  return value;
};

/**
 * A setting value is read back the same by botocore, v3 and aws-sdk-go only if it
 * is one line, has no surrounding spaces (all three trim), is not empty (v3 takes
 * `key =` as the start of a sub-section) and holds no ` #` or ` ;` (v3 cuts an
 * inline comment there, botocore does not).
 */
export const checkSettingValue = (key: string, value: unknown): string => {
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
    throw configError(`setting ${key} must be a string, number or boolean (null removes it)`);
  }
  const text = String(value);
  if (text === "" || text !== text.trim()) {
    throw configError(
      `setting ${key} must be non-empty without leading or trailing spaces (null removes it)`,
    );
  }
  if (/\p{Cc}/u.test(text)) {
    throw configError(`setting ${key} must be a single line without control characters`);
  }
  if (/\s[#;]/.test(text)) {
    throw configError(
      `setting ${key} contains a space followed by # or ;, which the AWS SDK for JavaScript reads as the start of a comment`,
    );
  }
  return text;
};

export const checkMode = (name: string, mode: number | undefined, fallback: number): number => {
  const m = mode ?? fallback;
  if (!Number.isInteger(m) || m < 0 || m > 0o7777) {
    throw configError(`${name} must be file permission bits such as 0o600, got ${mode}`);
  }
  return m;
};

const ID = /^\d+$/;

/** The largest uid or gid: 2^32 - 1 is (uid_t)-1, which chown reads as "leave it unchanged". */
export const MAX_ID = 2 ** 32 - 2;

/** Whether `n` can own a file. */
export const validId = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= MAX_ID;

export const parseOwner = (owner: FileOwner | string | undefined): FileOwner | undefined => {
  if (owner === undefined) return undefined;
  let uid: number;
  let gid: number;
  if (typeof owner === "string") {
    const [u, g, ...rest] = owner.split(":");
    if (u === undefined || g === undefined || rest.length > 0 || !ID.test(u) || !ID.test(g)) {
      throw configError(
        `owner must be "uid:gid" with numeric ids (such as "10000:10000"), got ${JSON.stringify(owner)}`,
      );
    }
    uid = Number(u);
    gid = Number(g);
  } else {
    uid = owner.uid;
    gid = owner.gid;
  }
  if (!validId(uid) || !validId(gid)) {
    // The ids as given: Number() would show 99999999999999999999 as 100000000000000000000.
    const given = typeof owner === "string" ? owner : `${uid}:${gid}`;
    throw configError(`owner ids must be whole numbers from 0 to ${MAX_ID}, got ${JSON.stringify(given)}`);
  }
  return { uid, gid };
};
