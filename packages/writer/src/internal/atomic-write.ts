import { constants, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Logger } from "@smithy/types";
import { CredentialsFileError, isCredentialsFileError } from "../errors.js";
import type { FileOwner, WriterFs } from "../file-options.js";
import { systemCode, writeError } from "./fs-error.js";
import { acquireLock, type HeldLock, type LockDeps, type LockSettings } from "./lock.js";

export interface UpdateRequest {
  /** Absolute path of the target. */
  path: string;
  /**
   * Given the current text (undefined when there is no file), returns the new
   * text, or undefined to leave the file as it is. May throw to abort.
   */
  update(current: string | undefined): string | undefined;
  /** When false, a missing file (or directory) is left missing and update is not called. */
  create: boolean;
  mode: number;
  dirMode: number;
  owner: FileOwner | undefined;
  lock: LockSettings;
  fs: WriterFs;
  logger: Logger | undefined;
  deps: LockDeps;
}

/** Refuses what the writer must not replace: a symbolic link, or anything but a regular file. */
const checkTarget = (fs: WriterFs, path: string, st: Stats): void => {
  if (st.isSymbolicLink()) {
    let to = "";
    try {
      to = ` to ${fs.readlinkSync(path)}`;
    } catch {
      // The message is as useful without the link's target.
    }
    throw new CredentialsFileError(
      `credbridge: refusing to write ${path}: it is a symbolic link${to}. Point the writer (path option, AWS_SHARED_CREDENTIALS_FILE or AWS_CONFIG_FILE) at the real file on a writable volume, or remove the link.`,
      { code: "ERR_SYMLINK", path },
    );
  }
  if (!st.isFile()) {
    const what = st.isDirectory() ? "a directory" : "not a regular file";
    throw new CredentialsFileError(
      `credbridge: refusing to write ${path}: it is ${what}. Remove it or choose another path.`,
      { code: "ERR_NOT_REGULAR_FILE", path },
    );
  }
};

/** Creates the directory (and parents) with `dirMode`, giving created ones to `owner`. */
const ensureDirectory = (req: UpdateRequest, dir: string): void => {
  let created: string | undefined;
  try {
    created = req.fs.mkdirSync(dir, { recursive: true, mode: req.dirMode });
  } catch (error) {
    throw writeError(req.path, `creating the directory ${dir}`, error);
  }
  if (created === undefined || req.owner === undefined) return;
  // mkdir reports the first directory it created; every one below it is new too.
  const chain: string[] = [];
  for (let d = dir; d.length >= created.length; d = dirname(d)) {
    chain.push(d);
    if (d === created || d === dirname(d)) break;
  }
  for (const d of chain.reverse()) {
    try {
      req.fs.chownSync(d, req.owner.uid, req.owner.gid);
    } catch (error) {
      throw writeError(req.path, `giving the new directory ${d} to ${req.owner.uid}:${req.owner.gid}`, error);
    }
  }
};

const readCurrent = (req: UpdateRequest): { stat: Stats | undefined; text: string | undefined } => {
  let fd: number | undefined;
  try {
    // O_NOFOLLOW: a symbolic link fails with ELOOP instead of being followed.
    // O_NONBLOCK: a FIFO cannot hang the writer before fstat refuses it.
    fd = req.fs.openSync(req.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const stat = req.fs.fstatSync(fd);
    if (!stat.isFile()) checkTarget(req.fs, req.path, stat);
    return { stat, text: req.fs.readFileSync(fd, "utf8") };
  } catch (error) {
    if (isCredentialsFileError(error)) throw error;
    const code = systemCode(error);
    if (code === "ENOENT") return { stat: undefined, text: undefined };
    if (code === "ELOOP") {
      let st: Stats | undefined;
      try {
        st = req.fs.lstatSync(req.path);
      } catch {
        // Reported below as the ELOOP it was.
      }
      if (st) checkTarget(req.fs, req.path, st);
    }
    throw writeError(req.path, "reading the current file", error);
  } finally {
    if (fd !== undefined) req.fs.closeSync(fd);
  }
};

/** Makes the rename durable. Errors are reported, not thrown: the new file is already in place. */
const syncDirectory = (req: UpdateRequest, dir: string): void => {
  let fd: number | undefined;
  try {
    fd = req.fs.openSync(dir, constants.O_RDONLY);
    req.fs.fsyncSync(fd);
  } catch (error) {
    const code = systemCode(error);
    // Some platforms and file systems cannot fsync a directory at all.
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EBADF" && code !== "ENOTSUP") {
      req.logger?.warn(
        `credbridge: ${req.path} was replaced, but syncing ${dir} failed (${code ?? error}); a power loss could undo the rename`,
      );
    }
  } finally {
    if (fd !== undefined) req.fs.closeSync(fd);
  }
};

/** Writes `text` to a new exclusive temp file in the lock's holder directory, with its mode and owner, synced. */
const writeTemp = (
  req: UpdateRequest,
  held: HeldLock,
  temp: string,
  text: string,
  current: Stats | undefined,
): void => {
  let fd: number;
  try {
    fd = req.fs.openSync(temp, "wx", req.mode);
  } catch (error) {
    if (systemCode(error) === "ENOENT") held.assertHeld();
    throw writeError(req.path, "creating a temporary file beside it", error);
  }
  try {
    req.fs.writeFileSync(fd, text, "utf8");
    const owner = req.owner ?? (current ? { uid: current.uid, gid: current.gid } : undefined);
    // The common case, a file we own, needs no fstat.
    if (owner && (owner.uid !== process.geteuid?.() || owner.gid !== process.getegid?.())) {
      const mine = req.fs.fstatSync(fd);
      if (mine.uid !== owner.uid || mine.gid !== owner.gid) {
        try {
          req.fs.fchownSync(fd, owner.uid, owner.gid);
        } catch (error) {
          if (req.owner) throw error;
          req.logger?.warn(
            `credbridge: could not keep ${req.path} owned by ${owner.uid}:${owner.gid} (${systemCode(error) ?? error}); it is now owned by ${mine.uid}:${mine.gid}. Set the owner option or run the writer as that user.`,
          );
        }
      }
    }
    // After chown, and whatever the umask was at open.
    req.fs.fchmodSync(fd, req.mode);
    req.fs.fsyncSync(fd);
  } catch (error) {
    throw writeError(req.path, "writing the temporary file", error);
  } finally {
    req.fs.closeSync(fd);
  }
};

/**
 * Everything done under the lock, synchronously so the lock is held for as
 * short a time as the disk allows. Returns whether the file was replaced.
 */
const replaceLocked = (req: UpdateRequest, held: HeldLock): boolean => {
  const dir = dirname(req.path);
  const base = basename(req.path);
  const current = readCurrent(req);
  if (current.text === undefined && !req.create) return false;
  const next = req.update(current.text);
  if (next === undefined) return false;
  if (current.stat && current.stat.nlink > 1) {
    req.logger?.warn(
      `credbridge: ${req.path} has ${current.stat.nlink} hard links; the file is replaced, so the other names keep the old content`,
    );
  }
  // In the holder directory, which a writer taking our lock over as stale
  // removes: should we have stalled that long, the rename fails instead of
  // putting our older merge over the newer file, whenever we wake.
  const temp = join(held.dir, `${base}.tmp`);
  let renamed = false;
  try {
    writeTemp(req, held, temp, next, current.stat);
    try {
      req.fs.renameSync(temp, req.path);
      renamed = true;
    } catch (error) {
      if (systemCode(error) === "ENOENT") held.assertHeld();
      throw writeError(req.path, "renaming the temporary file over it", error);
    }
  } finally {
    if (!renamed) {
      try {
        req.fs.unlinkSync(temp);
      } catch {
        // Never created, or already gone.
      }
    }
  }
  syncDirectory(req, dir);
  return true;
};

/**
 * Locked read-merge-write: take the lock, read the target, compute the new
 * text, write it to an exclusive temp file in the lock (beside the target, on
 * the same file system), fsync, rename it over the target, fsync the
 * directory, release. Readers see the old file or the new one, whole; on any
 * failure the temp file is removed and the old file stays as it was. Returns
 * whether the file was replaced.
 */
export const updateFile = async (req: UpdateRequest): Promise<boolean> => {
  let held: HeldLock;
  try {
    held = await acquireLock(req.path, req.lock, req.deps);
  } catch (error) {
    // The lock directory goes beside the file: ENOENT means the directory is missing.
    if (!isCredentialsFileError(error) || error.syscallCode !== "ENOENT") throw error;
    if (!req.create) return false;
    ensureDirectory(req, dirname(req.path));
    held = await acquireLock(req.path, req.lock, req.deps);
  }
  try {
    return replaceLocked(req, held);
  } finally {
    held.release();
  }
};
