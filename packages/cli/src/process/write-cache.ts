import { chmodSync, mkdirSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CacheEntry, ProcessCredentials } from "./cache.js";
import { type CacheReadOptions, untrusted } from "./cache-trust.js";

/**
 * Makes sure `dir` is a directory only this user can write: created 0700; an
 * existing one of ours that group or others can write is set to 0700 (and
 * the logger told); one that is not ours is refused, with what to do.
 */
export const ensureCacheDir = (dir: string, options: CacheReadOptions = {}): void => {
  const uid = options.uid ?? process.geteuid?.();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new Error(`the cache directory ${dir} is not a directory; pass --cache-dir`);
  const problem = untrusted(`the cache directory ${dir}`, st, uid);
  if (problem === undefined) return;
  if (uid !== undefined && st.uid !== uid) {
    throw new Error(
      `${problem}: not caching there. Remove it, or pass --cache-dir with a directory of your own`,
    );
  }
  chmodSync(dir, 0o700);
  options.logger?.error(`credbridge: ${problem}; set it to 0700`);
};

/**
 * Writes the entry 0600 in a 0700 directory, by rename, so a concurrent reader
 * never sees half of it. Synchronous, so that a second SIGTERM (which exits at
 * once) cannot land between the temp file and its rename and leave it behind.
 */
export const writeCached = (
  file: string,
  dir: string,
  identity: string,
  credentials: ProcessCredentials,
  options: CacheReadOptions = {},
): void => {
  ensureCacheDir(dir, options);
  const temp = join(dir, `.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(temp, JSON.stringify({ identity, credentials } satisfies CacheEntry), {
      mode: 0o600,
      flag: "wx",
    });
    renameSync(temp, file);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // Never created.
    }
    throw error;
  }
};
