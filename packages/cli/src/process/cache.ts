import type { CommandFlags } from "../args/flags.js";
import { join } from "../builtins.js";
import { homeDirectory } from "../home.js";
import { type CacheReadOptions, readTrusted } from "./cache-trust.js";
import { sourceReads } from "./source-reads.js";

/** The credential_process output format (Version 1), as the AWS CLI and SDKs read it. */
export interface ProcessCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken?: string;
  Expiration?: string;
  AccountId?: string;
}

/**
 * Default per-user cache directory: $XDG_CACHE_HOME/credbridge, else
 * ~/.cache/credbridge; undefined when there is no home to put it in.
 */
export const defaultCacheDir = (env: Readonly<Record<string, string | undefined>>): string | undefined => {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "credbridge");
  const home = homeDirectory(env);
  return home === undefined ? undefined : join(home, ".cache", "credbridge");
};

/**
 * What identifies a configuration: the source, role-chain and session flags
 * (CREDBRIDGE_* variables arrive here as flags) and the variables the chosen
 * source reads (see {@link sourceReads}), no others: AWS_CONFIG_FILE, which
 * the AWS CLI sets, must not split one configuration into two entries. Secrets
 * are never part of it. Stored in the entry and compared whole, so the file
 * name needs only a fast hash and a collision can never serve another
 * configuration's credentials.
 */
export const cacheIdentity = (
  flags: CommandFlags<"process">,
  env: Readonly<Record<string, string | undefined>>,
): string => {
  const relevant = Object.fromEntries(
    Object.entries(flags)
      .filter(([name]) => !["cache-dir", "no-cache", "log-level", "help"].includes(name))
      // Code-unit order, not localeCompare: ICU's collator costs 7 ms of a cache hit,
      // and for flag names ([a-z-]) both orders agree, so identities are unchanged.
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const vars = Object.fromEntries(sourceReads(flags, env).map((name) => [name, env[name] ?? null]));
  return JSON.stringify({ v: 3, flags: relevant, vars });
};

/**
 * FNV-1a (64-bit) of the identity, for the file name. Not a security boundary
 * (the identity itself is checked on read); it keeps node:crypto off the
 * cache-hit path, where every millisecond of start-up counts.
 */
export const cacheFileName = (identity: string): string => {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < identity.length; i++) {
    hash ^= BigInt(identity.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return `process-${hash.toString(16).padStart(16, "0")}.json`;
};

export interface CacheEntry {
  identity: string;
  credentials: ProcessCredentials;
}

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
 * The cached answer if it belongs to `identity` and has more than `windowMs`
 * left, else undefined. A missing, unreadable, corrupt or foreign entry is a
 * miss, never an error: the caller then fetches afresh and overwrites it. An
 * entry in a directory others can write, or a file not the user's own or
 * writable by others, is never read (and the logger is told why). Synchronous on
 * purpose: this is the whole of a cache hit.
 */
export const readCached = (
  file: string,
  identity: string,
  now: number,
  windowMs: number,
  options: CacheReadOptions = {},
): ProcessCredentials | undefined => {
  const text = readTrusted(file, options.uid ?? process.geteuid?.(), (message) =>
    options.logger?.error(message),
  );
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as Partial<CacheEntry>;
    const value = entry.credentials;
    if (entry.identity !== identity || !isCredentials(value)) return undefined;
    const expires = Date.parse(value.Expiration ?? "");
    return Number.isFinite(expires) && expires - now > windowMs ? value : undefined;
  } catch {
    return undefined;
  }
};
