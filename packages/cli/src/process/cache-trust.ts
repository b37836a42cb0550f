import type { Stats } from "node:fs";
import {
  FileTooLargeError,
  type OpenDirectoryErrors,
  openDirectory,
  readBoundedSync,
  untrustedFile,
} from "@credbridge/core/files";
import { closeSync, constants, dirname, fstatSync, openSync } from "../builtins.js";

/** Larger than any cache entry (one set of credentials and the identity they belong to). */
const MAX_ENTRY_BYTES = 64 * 1024;

export interface CacheReadOptions {
  /** The user the cache belongs to. Default the effective uid (none on Windows: no checks). */
  uid?: number | undefined;
  /**
   * Told why a cache file or directory was not trusted, or what was repaired:
   * as errors, so that even the quiet `process` shows them, since the cache
   * may have been tampered with.
   */
  logger?: { error(message: string): void } | undefined;
}

/** Why `st` (of `what`) must not be trusted by user `uid`, or undefined when it may be. */
export const untrusted = (what: string, st: Stats, uid: number | undefined): string | undefined => {
  const why = untrustedFile(st, [uid ?? st.uid]);
  return why === undefined ? undefined : `${what}: ${why}`;
};

/**
 * How the cache words a directory it will not use: the walk refuses a
 * symbolic link another user could have planted on the way (the cache
 * directory itself, say, made a link to someone else's directory in a shared
 * volume), which a chmod by path would have followed.
 */
export const cacheDirErrors = (dir: string): OpenDirectoryErrors => ({
  failed: (action, error) => {
    const code = (error as { code?: string }).code;
    return Object.assign(new Error(`${action}: ${code ?? (error as Error).message}`), { code });
  },
  refused: (_kind, where, why) =>
    new Error(
      `${where} ${why}: not using ${dir} as the cache. Pass --cache-dir with a directory of your own`,
    ),
});

/**
 * The entry's text, or undefined when there is none or it must not be trusted:
 * another user could have planted or replaced it, or the directory. The
 * directory is opened without following a link others could have planted,
 * the file with O_NOFOLLOW in it; the checks are on what was opened.
 */
export const readTrusted = (file: string, uid: number | undefined, refuse: (message: string) => void) => {
  const dir = dirname(file);
  let located: ReturnType<typeof openDirectory>;
  try {
    located = openDirectory(process.getBuiltinModule("node:fs"), dir, { errors: cacheDirErrors(dir) });
  } catch (error) {
    refuse(`credbridge: not reading the cache: ${(error as Error).message}. Fetching afresh instead.`);
    return undefined;
  }
  if (!located) return undefined;
  let fd: number | undefined;
  try {
    const dirProblem = untrusted(`the cache directory ${dir}`, located.dir.stat(), uid);
    if (dirProblem) {
      refuse(`credbridge: not reading the cache: ${dirProblem}. Fetching afresh instead.`);
      return undefined;
    }
    fd = openSync(
      located.dir.at(file.slice(dir.length + 1)),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
    const st = fstatSync(fd);
    const problem = st.isFile() ? untrusted(file, st, uid) : `${file} is not a regular file`;
    if (problem) {
      refuse(`credbridge: ignoring the cached credentials: ${problem}. It is replaced on the next fetch.`);
      return undefined;
    }
    return readBoundedSync(process.getBuiltinModule("node:fs"), fd, MAX_ENTRY_BYTES).toString("utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ELOOP") {
      refuse(`credbridge: ignoring the cached credentials: ${file} is a symbolic link.`);
    } else if (error instanceof FileTooLargeError) {
      refuse(`credbridge: ignoring the cached credentials: ${file} is ${error.message}.`);
    }
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
    located.close();
  }
};
