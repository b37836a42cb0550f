import { chmod, mkdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CacheEntry, ProcessCredentials } from "./cache.js";
import { type CacheReadOptions, untrusted } from "./cache-trust.js";

/**
 * Makes sure `dir` is a directory only this user can write: created 0700; an
 * existing one of ours that group or others can write is set to 0700 (and
 * the logger told); one that is not ours is refused, with what to do.
 */
export const ensureCacheDir = async (dir: string, options: CacheReadOptions = {}): Promise<void> => {
  const uid = options.uid ?? process.geteuid?.();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await stat(dir);
  if (!st.isDirectory()) throw new Error(`the cache directory ${dir} is not a directory; pass --cache-dir`);
  const problem = untrusted(`the cache directory ${dir}`, st, uid);
  if (problem === undefined) return;
  if (uid !== undefined && st.uid !== uid) {
    throw new Error(
      `${problem}: not caching there. Remove it, or pass --cache-dir with a directory of your own`,
    );
  }
  await chmod(dir, 0o700);
  options.logger?.error(`credbridge: ${problem}; set it to 0700`);
};

/** Writes the entry 0600 in a 0700 directory, by rename, so a concurrent reader never sees half of it. */
export const writeCached = async (
  file: string,
  dir: string,
  identity: string,
  credentials: ProcessCredentials,
  options: CacheReadOptions = {},
): Promise<void> => {
  await ensureCacheDir(dir, options);
  const temp = join(dir, `.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await writeFile(temp, JSON.stringify({ identity, credentials } satisfies CacheEntry), {
      mode: 0o600,
      flag: "wx",
    });
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
};
