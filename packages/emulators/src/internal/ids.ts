import { createHash, randomBytes, randomInt, randomUUID } from "node:crypto";

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const randomFrom = (alphabet: string, length: number): string => {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
};

/** `ASIA` + 16 upper-case alphanumerics: the shape of an STS session key id. */
export const newSessionAccessKeyId = (): string => `ASIA${randomFrom(UPPER_ALNUM, 16)}`;

/** 40 characters from the base64 alphabet, like a real secret access key. */
export const newSecretAccessKey = (): string => randomBytes(30).toString("base64");

/**
 * A long base64 session token. Real ones start with the same protobuf-ish prefix
 * and run to several hundred characters; clients must not assume a length.
 */
export const newSessionToken = (): string => `IQoJb3JpZ2luX2Vj${randomBytes(360).toString("base64")}`;

/** A request id in the UUID form STS uses. */
export const newRequestId = (): string => randomUUID();

/**
 * A unique id derived from a name: IAM ids are stable per principal, so tests
 * comparing `AssumedRoleId`s across sessions of one role see the same prefix.
 */
export const stableUniqueId = (prefix: "AROA" | "AIDA", name: string): string => {
  const digest = createHash("sha256").update(name).digest();
  let out = prefix;
  for (let i = 0; i < 17; i++) out += BASE32[digest[i]! % 32];
  return out;
};

/** A random base64url string of `bytes` random bytes. */
export const randomBase64Url = (bytes: number): string => randomBytes(bytes).toString("base64url");
