import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** The credential_process output format (Version 1), as the AWS CLI and SDKs read it. */
export interface ProcessCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken?: string;
  Expiration?: string;
  AccountId?: string;
}

/** Variables that change which credentials a given command line yields. Values of token variables are never part of a key. */
const KEY_ENV = [
  "AWS_ROLE_ARN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_SESSION_NAME",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL_STS",
  "AWS_ENDPOINT_URL",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_PROFILE",
];

/** Default per-user cache directory: $XDG_CACHE_HOME/credbridge, else ~/.cache/credbridge. */
export const defaultCacheDir = (env: Readonly<Record<string, string | undefined>>): string =>
  join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "credbridge");

/** A stable key for the source and chain options: same flags and environment, same cache entry. */
export const cacheKey = (
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): string => {
  const relevant = Object.fromEntries(
    Object.entries(flags)
      .filter(([name]) => !["cache-dir", "no-cache", "log-level", "help"].includes(name))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  const vars = Object.fromEntries(KEY_ENV.map((name) => [name, env[name] ?? null]));
  return createHash("sha256")
    .update(JSON.stringify({ v: 1, flags: relevant, vars }))
    .digest("hex")
    .slice(0, 32);
};

const isCredentials = (value: unknown): value is ProcessCredentials => {
  const v = value as Partial<ProcessCredentials> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    v.Version === 1 &&
    typeof v.AccessKeyId === "string" &&
    typeof v.SecretAccessKey === "string" &&
    typeof v.Expiration === "string"
  );
};

/**
 * The cached answer if it has more than `windowMs` left, else undefined. A
 * missing, unreadable or corrupt entry is a miss, never an error: the caller
 * then fetches afresh and overwrites it.
 */
export const readCached = async (
  file: string,
  now: number,
  windowMs: number,
): Promise<ProcessCredentials | undefined> => {
  try {
    const value: unknown = JSON.parse(await readFile(file, "utf8"));
    if (!isCredentials(value)) return undefined;
    const expires = Date.parse(value.Expiration ?? "");
    return Number.isFinite(expires) && expires - now > windowMs ? value : undefined;
  } catch {
    return undefined;
  }
};

/** Writes the entry 0600 in a 0700 directory, by rename, so a concurrent reader never sees half of it. */
export const writeCached = async (file: string, dir: string, value: ProcessCredentials): Promise<void> => {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temp, JSON.stringify(value), { mode: 0o600, flag: "wx" });
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
};
