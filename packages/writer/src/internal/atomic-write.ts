import { constants, type Stats } from "node:fs";
import { basename, dirname } from "node:path";
import { type DirHandle, FileTooLargeError, readBoundedSync } from "@credbridge/core/files";
import type { Logger } from "@smithy/types";
import { CredentialsFileError, isCredentialsFileError } from "../errors.js";
import type { FileOwner, WriterFs } from "../file-options.js";
import { processIdentity } from "./chown-identity.js";
import { chownRefusal, chownRefusalMessage } from "./chown-refusal.js";
import { systemCode, writeError } from "./fs-error.js";
import { acquireLock, type HeldLock, type LockDeps, type LockSettings } from "./lock.js";
import { openDirectory } from "./open-directory.js";
import { ownerOfReplacement } from "./ownership.js";

/**
 * Larger than any credentials or config file the writer would merge into
 * (hundreds of profiles with session tokens): a bigger one is refused unread,
 * counted in bytes read, so a sparse file or one that never ends cannot fill
 * the memory or hold the writer.
 */
export const MAX_FILE_BYTES = 1024 * 1024;

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
  /**
   * Called under the lock just before the rename, the last moment the new
   * text could still be dropped: throws to abort (credentials that entered
   * their margin while the writer waited for the lock or a slow fsync).
   */
  beforeRename?: (() => void) | undefined;
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
    const what = st.isDirectory()
      ? "a directory"
      : st.isSocket()
        ? "a socket"
        : st.isFIFO()
          ? "a FIFO"
          : st.isCharacterDevice() || st.isBlockDevice()
            ? "a device"
            : "not a regular file";
    throw new CredentialsFileError(
      `credbridge: refusing to write ${path}: it is ${what}. Remove it or choose another path.`,
      { code: "ERR_NOT_REGULAR_FILE", path },
    );
  }
};

interface Current {
  stat: Stats | undefined;
  text: string | undefined;
  /** Who the new file belongs to (see ownership.ts). */
  owner: FileOwner | undefined;
}

/** Refuses what sits at the target's place, named and described, when it is anything but a regular file. */
const refuseOddTarget = (req: Located): void => {
  let st: Stats | undefined;
  try {
    st = req.fs.lstatSync(req.dir.at(req.base));
  } catch {
    // Reported by the caller as the error it was.
  }
  if (st) checkTarget(req, st);
};

/** Applies the owner rule (and the odd-target one) to what lstat finds at the target, when it finds it. */
const refuseByOwner = (req: Located): void => {
  let st: Stats | undefined;
  try {
    st = req.fs.lstatSync(req.dir.at(req.base));
  } catch {
    return; // Reported by the caller as the error it was.
  }
  if (!st.isFile()) checkTarget(req, st);
  ownerOfReplacement(req.path, st, req.owner);
};

/**
 * The file there now, if any: a regular file whose owner the writer's rule
 * accepts (checked before a byte is read), read up to {@link MAX_FILE_BYTES}.
 */
const readCurrent = (req: Located): Current => {
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
    const owner = ownerOfReplacement(req.path, stat, req.owner);
    let bytes: Buffer;
    try {
      bytes = readBoundedSync(req.fs, fd, MAX_FILE_BYTES);
    } catch (error) {
      if (!(error instanceof FileTooLargeError)) throw error;
      throw new CredentialsFileError(
        `credbridge: refusing to write ${req.path}: the file there is larger than ${MAX_FILE_BYTES} bytes, which no credentials or config file is. Remove it or choose another path.`,
        { code: "ERR_NOT_REGULAR_FILE", path: req.path },
      );
    }
    return { stat, text: bytes.toString("utf8"), owner };
  } catch (error) {
    if (isCredentialsFileError(error)) throw error;
    const code = systemCode(error);
    if (code === "ENOENT") return { stat: undefined, text: undefined, owner: req.owner };
    // ELOOP: a symbolic link; ENXIO: a socket (which open cannot open).
    if (code === "ELOOP" || code === "ENXIO" || code === "EOPNOTSUPP") refuseOddTarget(req);
    // A file the writer may not even open is most often another user's (planted in a shared
    // directory): the owner rule names that user and the fix, where EACCES would blame the directory.
    if (code === "EACCES" || code === "EPERM") refuseByOwner(req);
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

/** Which inode a file is: what the rename must install, and nothing else. */
interface Inode {
  dev: number;
  ino: number;
}

const sameInode = (a: Inode, b: Inode) => a.dev === b.dev && a.ino === b.ino;

/**
 * Writes `text` to a new exclusive temp file in the lock's holder directory,
 * with its mode and owner, synced. Returns the inode written, which is all the
 * rename may put at the target.
 */
const writeTemp = (
  req: Located,
  held: HeldLock,
  temp: string,
  text: string,
  owner: FileOwner | undefined,
): Inode => {
  let fd: number;
  try {
    fd = req.fs.openSync(held.holder.at(temp), "wx", req.mode);
  } catch (error) {
    if (systemCode(error) === "ENOENT") held.assertHeld();
    throw writeError(req.path, "creating a temporary file beside it", error);
  }
  try {
    req.fs.writeFileSync(fd, text, "utf8");
    const mine = req.fs.fstatSync(fd);
    if (owner && (mine.uid !== owner.uid || mine.gid !== owner.gid)) {
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
    // After chown, and whatever the umask was at open.
    req.fs.fchmodSync(fd, req.mode);
    req.fs.fsyncSync(fd);
    return { dev: mine.dev, ino: mine.ino };
  } catch (error) {
    if (isCredentialsFileError(error)) throw error;
    throw writeError(req.path, "writing the temporary file", error);
  } finally {
    req.fs.closeSync(fd);
  }
};

const tampered = (req: Located, what: string, found: Stats | undefined) =>
  new CredentialsFileError(
    `credbridge: ${req.path} was not replaced with what this writer wrote: ${what}` +
      (found ? ` (now a file of uid ${found.uid})` : "") +
      `. Another user who may write ${req.dir.path} is interfering; the write is reported failed. Give the file a directory only its writers can change.`,
    { code: "ERR_TAMPERED", path: req.path },
  );

/** What is at `at` now, or undefined when nothing is. */
const lookAt = (req: Located, at: string): Stats | undefined => {
  try {
    return req.fs.lstatSync(at);
  } catch (error) {
    if (systemCode(error) === "ENOENT") return undefined;
    throw writeError(req.path, "checking what was written", error);
  }
};

/**
 * Everything done under the lock, synchronously so the lock is held for as
 * short a time as the disk allows. Returns whether the file was replaced.
 */
const replaceLocked = (req: Located, held: HeldLock): boolean => {
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
  const temp = `${req.base}.tmp`;
  let renamed = false;
  try {
    const written = writeTemp(req, held, temp, next, current.owner);
    req.beforeRename?.();
    // The holder admits nobody but the file's writers (lock-access.ts); should
    // another user still have put a file of theirs in ours' place, it is not renamed.
    const before = lookAt(req, held.holder.at(temp));
    if (!before || !sameInode(before, written)) {
      // A writer that took our lock over as stale removed our holder, temp file and all:
      // a stalled writer (ERR_LOCKED, which refreshers retry), not another user's doing.
      held.assertHeld();
      throw tampered(req, "the temporary file was replaced before the rename", before);
    }
    try {
      req.fs.renameSync(held.holder.at(temp), req.dir.at(req.base));
      renamed = true;
    } catch (error) {
      if (systemCode(error) === "ENOENT") held.assertHeld();
      throw writeError(req.path, "renaming the temporary file over it", error);
    }
    // A write never reports success for a file it did not produce.
    const after = lookAt(req, req.dir.at(req.base));
    if (!after || !sameInode(after, written)) {
      throw tampered(
        req,
        after
          ? "another file took its place right after the rename"
          : "it was removed right after the rename",
        after,
      );
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
