import type { Stats } from "node:fs";
import { closeSync, constants, dirname, fstatSync, openSync, readFileSync, statSync } from "../builtins.js";

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
  if (uid !== undefined && st.uid !== uid) {
    return `${what} is owned by uid ${st.uid}, not by this user (uid ${uid})`;
  }
  if ((st.mode & 0o022) !== 0) {
    return `${what} is writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")})`;
  }
  return undefined;
};

/**
 * The entry's text, or undefined when there is none or it must not be trusted:
 * another user could have planted or replaced it. O_NOFOLLOW refuses a
 * symbolic link; the checks are on the file actually opened.
 */
export const readTrusted = (file: string, uid: number | undefined, refuse: (message: string) => void) => {
  let fd: number | undefined;
  try {
    const dirProblem = untrusted(`the cache directory ${dirname(file)}`, statSync(dirname(file)), uid);
    if (dirProblem) {
      refuse(`credbridge: not reading the cache: ${dirProblem}. Fetching afresh instead.`);
      return undefined;
    }
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    const problem = st.isFile() ? untrusted(file, st, uid) : `${file} is not a regular file`;
    if (problem) {
      refuse(`credbridge: ignoring the cached credentials: ${problem}. It is replaced on the next fetch.`);
      return undefined;
    }
    return readFileSync(fd, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ELOOP") {
      refuse(`credbridge: ignoring the cached credentials: ${file} is a symbolic link.`);
    }
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
};
