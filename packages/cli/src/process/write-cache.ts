import { fchmodSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { type OpenedDirectory, openDirectory } from "@credbridge/core/files";
import type { CacheEntry, ProcessCredentials } from "./cache.js";
import { type CacheReadOptions, cacheDirErrors, untrusted } from "./cache-trust.js";

/**
 * Opens `dir` as a directory only this user can write: created 0700 (each
 * missing component); an existing one of ours that group or others can write
 * is set to 0700 through its descriptor (and the logger told), never by path;
 * one that is not ours, or reached through a symbolic link another user could
 * have planted, is refused, with what to do. The caller closes it.
 */
export const ensureCacheDir = (dir: string, options: CacheReadOptions = {}): OpenedDirectory => {
  const uid = options.uid ?? process.geteuid?.();
  const located = openDirectory(process.getBuiltinModule("node:fs"), dir, {
    create: { mode: 0o700 },
    errors: cacheDirErrors(dir),
  }) as OpenedDirectory;
  try {
    const st = located.dir.stat();
    const problem = untrusted(`the cache directory ${dir}`, st, uid);
    if (problem === undefined) return located;
    if (uid !== undefined && st.uid !== uid) {
      throw new Error(
        `${problem}: not caching there. Remove it, or pass --cache-dir with a directory of your own`,
      );
    }
    fchmodSync(located.dir.fd, 0o700);
    options.logger?.error(`credbridge: ${problem}; set it to 0700`);
    return located;
  } catch (error) {
    located.close();
    throw error;
  }
};

/**
 * Writes the entry 0600 in a 0700 directory, by rename, so a concurrent reader
 * never sees half of it; every name is looked up in the directory opened.
 * Synchronous, so that a second SIGTERM (which exits at once) cannot land
 * between the temp file and its rename and leave it behind.
 */
export const writeCached = (
  file: string,
  dir: string,
  identity: string,
  credentials: ProcessCredentials,
  options: CacheReadOptions = {},
): void => {
  const located = ensureCacheDir(dir, options);
  const temp = located.dir.at(`.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(temp, JSON.stringify({ identity, credentials } satisfies CacheEntry), {
      mode: 0o600,
      flag: "wx",
    });
    renameSync(temp, located.dir.at(basename(file)));
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // Never created.
    }
    throw error;
  } finally {
    located.close();
  }
};
