import { constants, type Stats } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "@smithy/types";
import { CredentialsFileError, isCredentialsFileError } from "../errors.js";
import type { FileOwner, WriterFs } from "../file-options.js";
import { processIdentity } from "./chown-identity.js";
import { chownRefusal, chownRefusalMessage } from "./chown-refusal.js";
import type { DirHandle } from "./dir-handle.js";
import { systemCode, writeError } from "./fs-error.js";
import { acquireLock, type HeldLock, type LockDeps, type LockSettings } from "./lock.js";
import { openDirectory } from "./open-directory.js";

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
  /** Stops the wait for the lock (SIGTERM). */
  signal?: AbortSignal | undefined;
}

/** The request, with the target's directory open: every name below is looked up in it. */
interface Located extends UpdateRequest {
  dir: DirHandle;
  /** The target's name in `dir`. */
  base: string;
}

/** Refuses what the writer must not replace: a symbolic link, or anything but a regular file. */
const checkTarget = (req: Located, st: Stats): void => {
  const { path } = req;
  if (st.isSymbolicLink()) {
    let to = "";
    try {
      to = ` to ${req.fs.readlinkSync(req.dir.at(req.base), "utf8")}`;
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

const readCurrent = (req: Located): { stat: Stats | undefined; text: string | undefined } => {
  let fd: number | undefined;
  try {
    // O_NOFOLLOW: a symbolic link fails with ELOOP instead of being followed.
    // O_NONBLOCK: a FIFO cannot hang the writer before fstat refuses it.
    fd = req.fs.openSync(
      req.dir.at(req.base),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
    const stat = req.fs.fstatSync(fd);
    if (!stat.isFile()) checkTarget(req, stat);
    return { stat, text: req.fs.readFileSync(fd, "utf8") };
  } catch (error) {
    if (isCredentialsFileError(error)) throw error;
    const code = systemCode(error);
    if (code === "ENOENT") return { stat: undefined, text: undefined };
    if (code === "ELOOP") {
      let st: Stats | undefined;
      try {
        st = req.fs.lstatSync(req.dir.at(req.base));
      } catch {
        // Reported below as the ELOOP it was.
      }
      if (st) checkTarget(req, st);
    }
    throw writeError(req.path, "reading the current file", error);
  } finally {
    if (fd !== undefined) req.fs.closeSync(fd);
  }
};

/** Makes the rename durable. Errors are reported, not thrown: the new file is already in place. */
const syncDirectory = (req: Located): void => {
  try {
    req.fs.fsyncSync(req.dir.fd);
  } catch (error) {
    const code = systemCode(error);
    // Some platforms and file systems cannot fsync a directory at all.
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EBADF" && code !== "ENOTSUP") {
      req.logger?.warn(
        `credbridge: ${req.path} was replaced, but syncing ${dirname(req.path)} failed (${code ?? error}); a power loss could undo the rename`,
      );
    }
  }
};

/**
 * Whether `owner` could read the file there already. Otherwise rewriting it
 * for them would hand them its other profiles: root's own file, say, reached
 * through a hard link the application user made.
 */
const ownerMayRead = (st: Stats, owner: FileOwner): boolean =>
  st.uid === owner.uid || (st.mode & 0o004) !== 0 || ((st.mode & 0o040) !== 0 && st.gid === owner.gid);

/** Writes `text` to a new exclusive temp file in the lock's holder directory, with its mode and owner, synced. */
const writeTemp = (
  req: Located,
  held: HeldLock,
  temp: string,
  text: string,
  current: Stats | undefined,
): void => {
  let fd: number;
  try {
    fd = req.fs.openSync(held.holder.at(temp), "wx", req.mode);
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
          // Not a fault of the directory: name the process's lack of the right, and the fixes.
          const reason = req.owner && chownRefusal(req.owner, processIdentity());
          if (reason) {
            throw new CredentialsFileError(chownRefusalMessage(req.path, req.owner!, reason), {
              code: "ERR_CHOWN",
              path: req.path,
              syscallCode: systemCode(error),
              cause: error,
            });
          }
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
    if (isCredentialsFileError(error)) throw error;
    throw writeError(req.path, "writing the temporary file", error);
  } finally {
    req.fs.closeSync(fd);
  }
};

/**
 * Everything done under the lock, synchronously so the lock is held for as
 * short a time as the disk allows. Returns whether the file was replaced.
 */
const replaceLocked = (req: Located, held: HeldLock): boolean => {
  const current = readCurrent(req);
  if (current.text === undefined && !req.create) return false;
  if (req.owner && current.stat && !ownerMayRead(current.stat, req.owner)) {
    const st = current.stat;
    const who = `${req.owner.uid}:${req.owner.gid}`;
    throw new CredentialsFileError(
      `credbridge: refusing to write ${req.path} for ${who}: the file there belongs to uid ${st.uid} (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}), ` +
        `which ${who} may not read, and rewriting it would hand them its other content. Remove it, or give it to ${who} if what it holds is theirs.`,
      { code: "ERR_FILE_OWNER", path: req.path },
    );
  }
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
  const temp = `${req.base}.tmp`;
  let renamed = false;
  try {
    writeTemp(req, held, temp, next, current.stat);
    try {
      req.fs.renameSync(held.holder.at(temp), req.dir.at(req.base));
      renamed = true;
    } catch (error) {
      if (systemCode(error) === "ENOENT") held.assertHeld();
      throw writeError(req.path, "renaming the temporary file over it", error);
    }
  } finally {
    if (!renamed) {
      try {
        req.fs.unlinkSync(held.holder.at(temp));
      } catch {
        // Never created, or already gone.
      }
    }
  }
  syncDirectory(req);
  return true;
};

/**
 * Locked read-merge-write: open the target's directory without following a
 * link another user could have planted (creating it if asked), take the lock
 * in it, read the target, compute the new text, write it to an exclusive temp
 * file in the lock (beside the target, on the same file system), fsync, rename
 * it over the target, fsync the directory, release. Every name is looked up in
 * the directory opened, so nothing renamed or linked above it can redirect the
 * lock, the temp file or the rename. Readers see the old file or the new one,
 * whole; on any failure the temp file, the lock and any directory created for
 * the file are removed, and the old file stays as it was. Returns whether the
 * file was replaced.
 */
export const updateFile = async (req: UpdateRequest): Promise<boolean> => {
  const base = basename(req.path);
  const located = openDirectory(req.fs, dirname(req.path), {
    target: req.path,
    create: req.create ? { mode: req.dirMode, owner: req.owner } : undefined,
  });
  if (!located) return false;
  let changed = false;
  try {
    const at: Located = { ...req, dir: located.dir, base };
    const held = await acquireLock(
      req.fs,
      { dir: located.dir, name: base, path: req.path, owner: req.owner },
      req.lock,
      req.deps,
      req.signal,
    );
    try {
      changed = replaceLocked(at, held);
      return changed;
    } finally {
      held.release();
    }
  } finally {
    if (!changed) located.removeCreated();
    located.close();
  }
};
