/**
 * S3's naming rules for general purpose buckets: 3–63 of a-z, 0-9, '.', '-', starting and ending
 * with a letter or digit, no two adjacent periods, not an IPv4 address, and none of the prefixes
 * and suffixes S3 keeps for itself (access point aliases, Object Lambda, directory and table buckets).
 */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const RESERVED_START = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_END = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/** Why `name` is not an S3 bucket name, or undefined when it is one. */
export const bucketNameProblem = (name: string): string | undefined => {
  if (!BUCKET.test(name)) {
    return "3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit; no s3:// or ARN";
  }
  if (name.includes("..")) return "no two adjacent periods";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return "not an IP address";
  const start = RESERVED_START.find((p) => name.startsWith(p));
  if (start) return `no name starts with ${start}, which S3 keeps for itself`;
  const end = RESERVED_END.find((s) => name.endsWith(s));
  if (end) return `no name ends with ${end}, which S3 keeps for itself`;
  return undefined;
};

/** Key characters a prefix may use in a resource ARN: no IAM wildcards, no policy variables. */
const PREFIX = /^[\w!'().\-/]+$/;

/**
 * A key is 1024 bytes at most, and the registry's own paths under its root take up to a few
 * hundred (a repository name alone may have 255): a longer root leaves it no room.
 */
export const PREFIX_MAX_BYTES = 512;

/**
 * Why `prefix` (slashes trimmed) cannot be the registry's rootdirectory in a policy, or undefined.
 * `.` and `..` are key characters to S3, not steps: a policy naming `a/../b` is about a key no
 * path of the registry's ever has.
 */
export const prefixProblem = (prefix: string): string | undefined => {
  if (!prefix || !PREFIX.test(prefix) || prefix.includes("//")) {
    return "a key prefix such as harbor or /harbor (letters, digits and !'()._-/; no '*', '?' or '$')";
  }
  if (prefix.split("/").some((segment) => segment === "." || segment === "..")) {
    return "no '.' or '..' segment: S3 keys have no parent directories";
  }
  const bytes = Buffer.byteLength(prefix);
  if (bytes > PREFIX_MAX_BYTES) {
    return `at most ${PREFIX_MAX_BYTES} bytes (${bytes} given): an S3 key is 1024 at most, the registry's paths under it included`;
  }
  return undefined;
};
