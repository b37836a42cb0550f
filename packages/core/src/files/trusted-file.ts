import * as nodeFs from "node:fs";
import { constants, type Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { FileTooLargeError, readBoundedFd, readBoundedSync } from "./bounded-read.js";
import type { DirectoryFs } from "./dir-handle.js";
import { type OpenDirectoryErrors, openDirectory } from "./open-directory.js";
import { untrustedFile, untrustedLink } from "./trust.js";

/** A file this process will not read a secret from; the message says why. */
export class UntrustedFileError extends Error {
  override name = "UntrustedFileError";
  readonly code = "ERR_UNTRUSTED_FILE";
}

export interface TrustedFileOptions {
  /**
   * Who may own the file besides root and this process's user: the user it
   * was made for (`--file-owner`). Anyone else could have planted it.
   */
  owners?: readonly number[] | undefined;
  /** Read at most this many bytes; a longer file is refused with {@link FileTooLargeError}. */
  maxBytes: number;
  /** Stops the read. */
  signal?: AbortSignal | undefined;
  /** The directory walk's file system. Default `node:fs`. */
  fs?: DirectoryFs | undefined;
}

/** As the kernel's own limit on symbolic links in one lookup. */
const MAX_LINKS = 40;
/** O_NONBLOCK: a FIFO opens at once (and is refused as not a regular file) instead of holding a thread for good. */
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

const WORDS: Record<string, string> = {
  ENOENT: "it does not exist",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ELOOP: "too many symbolic links",
  ENOTDIR: "a component of its path is not a directory",
  EISDIR: "it is a directory",
  ENXIO: "it is a socket or a device",
  EIO: "an I/O error from the device",
};

/** Why reading a file failed, in words that name no /proc/self/fd path: for messages. */
export const describeFileError = (error: unknown): string => {
  if (error instanceof UntrustedFileError || error instanceof FileTooLargeError) return error.message;
  const code = codeOf(error);
  return (code && WORDS[code]) ?? code ?? (error instanceof Error ? error.message : String(error));
};

const walkErrors: OpenDirectoryErrors = {
  failed: (_action, error) => (error instanceof Error ? error : new Error(String(error))),
  refused: (_kind, where, why) => new UntrustedFileError(`${where} ${why}`),
};

/**
 * Opens a file holding a secret, for reading, only if nobody but root, this
 * process's user and `owners` could have chosen what it holds: every
 * directory on the way is opened without following a symbolic link another
 * user could have planted (a Secret volume's own `..data` links, root's, are
 * followed), the file itself likewise, and what is opened must be a regular
 * file belonging to one of them that nobody else may write. Synchronous: a
 * few opens on local directories. Returns the descriptor (the caller closes
 * it) and what fstat said of it.
 */
export const openTrustedFile = (
  path: string,
  options: Pick<TrustedFileOptions, "owners" | "fs">,
): { fd: number; stat: Stats } => {
  const fs = options.fs ?? nodeFs;
  const euid = process.geteuid?.();
  const owners = [0, ...(euid === undefined ? [] : [euid]), ...(options.owners ?? [])];
  let current = resolve(path);
  for (let links = 0; ; links++) {
    const located = openDirectory(fs, dirname(current), { errors: walkErrors });
    if (!located) throw Object.assign(new Error(`ENOENT: ${dirname(current)}`), { code: "ENOENT" });
    try {
      const name = basename(current);
      let fd: number;
      try {
        fd = fs.openSync(located.dir.at(name), FILE_FLAGS);
      } catch (error) {
        if (codeOf(error) !== "ELOOP") throw error;
        const link = fs.lstatSync(located.dir.at(name));
        if (!link.isSymbolicLink()) throw error;
        const where = join(located.dir.path, name);
        const why = untrustedLink(link, located.dir);
        if (why !== undefined) {
          throw new UntrustedFileError(
            `${where} is a symbolic link that another user could have planted or could change: ${why}`,
          );
        }
        if (links >= MAX_LINKS) throw error;
        current = resolve(located.dir.path, fs.readlinkSync(located.dir.at(name), "utf8"));
        continue;
      }
      try {
        const stat = fs.fstatSync(fd);
        if (!stat.isFile()) throw new UntrustedFileError("it is not a regular file");
        const why = untrustedFile(stat, owners);
        if (why !== undefined) throw new UntrustedFileError(why);
        return { fd, stat };
      } catch (error) {
        fs.closeSync(fd);
        throw error;
      }
    } finally {
      located.close();
    }
  }
};

/**
 * {@link openTrustedFile}, then at most `maxBytes` read off the event loop
 * (counted as read, never taken from the file's size). Rejects with
 * {@link UntrustedFileError}, {@link FileTooLargeError} or the system error;
 * {@link describeFileError} words any of them.
 */
export const readTrustedFile = async (
  path: string,
  options: TrustedFileOptions,
): Promise<{ bytes: Buffer; stat: Stats }> => {
  const { fd, stat } = openTrustedFile(path, options);
  try {
    return { bytes: await readBoundedFd(fd, options.maxBytes, options.signal), stat };
  } finally {
    nodeFs.closeSync(fd);
  }
};

/**
 * {@link readTrustedFile}, synchronously: for a check that must answer in the
 * same turn (a readiness probe rendered with the metrics). What could block is
 * refused before a byte is read (a FIFO or a device, opened non-blocking, is
 * not a regular file) and the read stops at `maxBytes`: a regular file of at
 * most that much, on a local volume, takes microseconds.
 */
export const readTrustedFileSync = (
  path: string,
  options: Omit<TrustedFileOptions, "signal">,
): { bytes: Buffer; stat: Stats } => {
  const { fd, stat } = openTrustedFile(path, options);
  try {
    return { bytes: readBoundedSync(nodeFs, fd, options.maxBytes), stat };
  } finally {
    nodeFs.closeSync(fd);
  }
};
