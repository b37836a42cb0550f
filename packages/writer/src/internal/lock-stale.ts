import type { Stats } from "node:fs";
import { join } from "node:path";
import { type DirHandle, openChild } from "@credbridge/core/files";
import { CredentialsFileError } from "../errors.js";
import type { WriterFs } from "../file-options.js";
import { systemCode } from "./fs-error.js";

/** `<name>.lock`, in the target's directory. */
export const lockNameOf = (name: string): string => `${name}.lock`;

/** What stood at the lock's place when a waiter looked. */
export interface LockSighting {
  /** Changes whenever the lock is taken anew: compared for equality only, never as a time. */
  id: string;
  stat: Stats;
}

/**
 * Looks at the lock without taking it (one lstat, for every poll of every
 * waiter): undefined when there is none. Its identity holds its inode, its
 * link count (one more for each holder directory in it) and its times, as
 * opaque values: the waiter never compares them with a clock, so a lock from
 * "the future" after a clock step is no different from any other.
 */
export const sightLock = (fs: WriterFs, dir: DirHandle, name: string): LockSighting | undefined => {
  let stat: Stats;
  try {
    stat = fs.lstatSync(dir.at(lockNameOf(name)));
  } catch (error) {
    if (systemCode(error) === "ENOENT") return undefined;
    throw error;
  }
  const id = [stat.dev, stat.ino, stat.nlink, stat.mtimeMs, stat.ctimeMs, stat.mode, stat.uid];
  return { id: id.join(":"), stat };
};

const sameLock = (a: Stats, b: Stats) =>
  a.dev === b.dev &&
  a.ino === b.ino &&
  a.mtimeMs === b.mtimeMs &&
  a.ctimeMs === b.ctimeMs &&
  a.nlink === b.nlink;

/** Something a writer may not remove, found while breaking a lock. */
class Blocked extends Error {
  constructor(
    readonly where: string,
    readonly stat: Stats | undefined,
    readonly code: string,
  ) {
    super(`${where}: ${code}`);
  }
}

const DENIED = new Set(["EACCES", "EPERM"]);

/** Removes `name` in `parent` and everything in it, never following a symbolic link. */
const removeTree = (fs: WriterFs, parent: DirHandle, name: string, shown: string): void => {
  let st: Stats;
  try {
    st = fs.lstatSync(parent.at(name));
  } catch (error) {
    if (systemCode(error) === "ENOENT") return;
    throw error;
  }
  const denied = (error: unknown, where: string, stat: Stats | undefined) => {
    const code = systemCode(error) ?? "";
    return DENIED.has(code) ? new Blocked(where, stat, code) : error;
  };
  if (st.isDirectory()) {
    // One this writer may not open or list (another user's, 0700) may still be
    // empty, and an empty directory goes with the right to write its parent:
    // a holder half made by a writer killed before it gave the holder away.
    const orEmpty = (error: unknown) => {
      if (!DENIED.has(systemCode(error) ?? "")) throw error;
      try {
        fs.rmdirSync(parent.at(name));
      } catch (again) {
        const code = systemCode(again);
        if (code === "ENOENT") return;
        throw code === "ENOTEMPTY" || code === "EEXIST" || DENIED.has(code ?? "")
          ? denied(error, shown, st)
          : again;
      }
    };
    let d: DirHandle;
    try {
      d = openChild(fs, parent, name);
    } catch (error) {
      if (systemCode(error) === "ENOENT") return;
      orEmpty(error);
      return;
    }
    try {
      let entries: string[];
      try {
        entries = fs.readdirSync(d.at(""));
      } catch (error) {
        orEmpty(error);
        return;
      }
      for (const entry of entries) removeTree(fs, d, entry, join(shown, entry));
    } finally {
      d.close();
    }
  }
  try {
    if (st.isDirectory()) fs.rmdirSync(parent.at(name));
    else fs.unlinkSync(parent.at(name));
  } catch (error) {
    if (systemCode(error) === "ENOENT") return;
    throw denied(error, join(shown, ".."), parent.stat());
  }
};

const mode = (st: Stats) => (st.mode & 0o777).toString(8).padStart(4, "0");

const cannotBreak = (path: string, staleMs: number, blocked: Blocked) => {
  const lockPath = `${path}.lock`;
  const who = blocked.stat ? ` belongs to uid ${blocked.stat.uid} with mode ${mode(blocked.stat)}` : "";
  const owner = blocked.stat ? `uid ${blocked.stat.uid} or root` : "its owner or root";
  return new CredentialsFileError(
    `credbridge: ${path} is locked by ${lockPath}, unchanged for ${staleMs} ms (its writer died or stalled), and this writer (uid ${process.geteuid?.() ?? "?"}) may not remove it: ${blocked.where}${who} (${blocked.code}). ` +
      `Remove ${lockPath} as ${owner}; writers of this version give the lock the permissions of the file's directory, so that any writer that may write the file may remove it.`,
    { code: "ERR_LOCKED", path, syscallCode: blocked.code },
  );
};

/**
 * Removes a lock seen unchanged for the stale period: its holder died or
 * stalled. Only the holders in it while it still looked as it was seen go, so
 * a lock another waiter broke and retook in between keeps its holder and the
 * final rmdir fails on it. Returns whether the lock may now be free; throws
 * ERR_LOCKED, naming what is in the way, when this user may not remove it.
 */
export const breakLock = (
  fs: WriterFs,
  dir: DirHandle,
  name: string,
  path: string,
  seen: LockSighting,
  staleMs: number,
): boolean => {
  const lockName = lockNameOf(name);
  const shown = `${path}.lock`;
  try {
    if (!seen.stat.isDirectory()) {
      // Not a lock any writer made (a file or a link planted there): in the way all the same.
      fs.unlinkSync(dir.at(lockName));
      return true;
    }
    let lock: DirHandle | undefined;
    try {
      lock = openChild(fs, dir, lockName);
    } catch (error) {
      // Not ours to list (another user's, 0700): its writer may have died before making its
      // holder directory in it, and an empty directory goes with the right to write this one.
      if (!DENIED.has(systemCode(error) ?? "")) throw error;
    }
    if (lock) {
      try {
        if (!sameLock(lock.stat(), seen.stat)) return false;
        for (const holder of fs.readdirSync(lock.at(""))) removeTree(fs, lock, holder, join(shown, holder));
      } finally {
        lock.close();
      }
    }
    fs.rmdirSync(dir.at(lockName));
    return true;
  } catch (error) {
    if (error instanceof Blocked) throw cannotBreak(path, staleMs, error);
    const code = systemCode(error);
    if (code === "ENOENT") return true;
    if (code === "ENOTEMPTY" || code === "EEXIST" || DENIED.has(code ?? "")) {
      // Another waiter broke and retook it, or a stalled holder woke and is adding a file: look again.
      const now = sightLock(fs, dir, name);
      if (now === undefined || now.id !== seen.id) return false;
      // Still the lock that was seen, and not ours to empty: only its owner (or root) can.
      throw cannotBreak(
        path,
        staleMs,
        new Blocked(shown, seen.stat, DENIED.has(code ?? "") ? (code as string) : "EACCES"),
      );
    }
    throw error;
  }
};

export { removeTree };
