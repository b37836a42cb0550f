import { randomBytes } from "node:crypto";
import { constants, type Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
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

const tempPattern = (base: string) =>
  new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.[0-9a-f]{12}\\.tmp$`);

const lstatOrUndefined = async (fs: WriterFs, path: string): Promise<Stats | undefined> => {
  try {
    return await fs.lstat(path);
  } catch (error) {
    if (systemCode(error) === "ENOENT") return undefined;
    throw error;
  }
};

/** Refuses what the writer must not replace: a symbolic link, or anything but a regular file. */
const checkTarget = async (fs: WriterFs, path: string, st: Stats): Promise<void> => {
  if (st.isSymbolicLink()) {
    let to = "";
    try {
      to = ` to ${await fs.readlink(path)}`;
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
const ensureDirectory = async (req: UpdateRequest, dir: string): Promise<void> => {
  let created: string | undefined;
  try {
    created = await req.fs.mkdir(dir, { recursive: true, mode: req.dirMode });
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
      await req.fs.chown(d, req.owner.uid, req.owner.gid);
    } catch (error) {
      throw writeError(req.path, `giving the new directory ${d} to ${req.owner.uid}:${req.owner.gid}`, error);
    }
  }
};

/** When each directory was last swept, so a busy writer lists it at most once per stale period. */
const lastSweep = new Map<string, number>();

/** Removes temp files a killed writer left; only old ones, so no live writer's file is touched. */
const sweepTempFiles = async (req: UpdateRequest, dir: string, base: string): Promise<void> => {
  const key = join(dir, base);
  if (Date.now() - (lastSweep.get(key) ?? 0) < req.lock.staleMs) return;
  lastSweep.set(key, Date.now());
  try {
    const pattern = tempPattern(base);
    const names = (await req.fs.readdir(dir)).filter((n) => pattern.test(n));
    for (const name of names) {
      const file = join(dir, name);
      const st = await lstatOrUndefined(req.fs, file);
      // File times are wall-clock times, so the cut-off is too (not the injected clock).
      if (st?.isFile() && st.mtimeMs < Date.now() - req.lock.staleMs) {
        await req.fs.unlink(file).catch(() => {});
        req.logger?.info?.(`credbridge: removed ${file}, a temporary file left by a writer that died`);
      }
    }
  } catch {
    // Best effort: leftovers cost a few bytes, never correctness.
  }
};

const readCurrent = async (
  req: UpdateRequest,
): Promise<{ stat: Stats | undefined; text: string | undefined }> => {
  let handle: FileHandle | undefined;
  try {
    // O_NOFOLLOW: a symbolic link fails with ELOOP instead of being followed.
    // O_NONBLOCK: a FIFO cannot hang the writer before fstat refuses it.
    handle = await req.fs.open(req.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const stat = await handle.stat();
    if (!stat.isFile()) await checkTarget(req.fs, req.path, stat);
    return { stat, text: await handle.readFile("utf8") };
  } catch (error) {
    if (error instanceof CredentialsFileError) throw error;
    const code = systemCode(error);
    if (code === "ENOENT") return { stat: undefined, text: undefined };
    if (code === "ELOOP") {
      const st = await lstatOrUndefined(req.fs, req.path).catch(() => undefined);
      if (st) await checkTarget(req.fs, req.path, st);
    }
    throw writeError(req.path, "reading the current file", error);
  } finally {
    await handle?.close().catch(() => {});
  }
};

/** Makes the rename durable. Errors are reported, not thrown: the new file is already in place. */
const syncDirectory = async (req: UpdateRequest, dir: string): Promise<void> => {
  let handle: FileHandle | undefined;
  try {
    handle = await req.fs.open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch (error) {
    const code = systemCode(error);
    // Some platforms and file systems cannot fsync a directory at all.
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EBADF" && code !== "ENOTSUP") {
      req.logger?.warn(
        `credbridge: ${req.path} was replaced, but syncing ${dir} failed (${code ?? error}); a power loss could undo the rename`,
      );
    }
  } finally {
    await handle?.close().catch(() => {});
  }
};

/**
 * Locked read-merge-write: take the lock, read the target, compute the new
 * text, write it to an exclusive temp file beside the target, fsync, rename it
 * over the target, fsync the directory, release. Readers see the old file or
 * the new one, whole; on any failure the temp file is removed and the old file
 * stays as it was. Returns whether the file was replaced.
 */
export const updateFile = async (req: UpdateRequest): Promise<boolean> => {
  const dir = dirname(req.path);
  const base = basename(req.path);
  let held: HeldLock;
  try {
    held = await acquireLock(req.path, req.lock, req.deps);
  } catch (error) {
    // The lock directory goes beside the file: ENOENT means the directory is missing.
    if (!isCredentialsFileError(error) || error.syscallCode !== "ENOENT") throw error;
    if (!req.create) return false;
    await ensureDirectory(req, dir);
    held = await acquireLock(req.path, req.lock, req.deps);
  }
  let temp: string | undefined;
  try {
    const current = await readCurrent(req);
    if (current.text === undefined && !req.create) return false;
    const next = req.update(current.text);
    if (next === undefined) return false;
    if (current.stat && current.stat.nlink > 1) {
      req.logger?.warn(
        `credbridge: ${req.path} has ${current.stat.nlink} hard links; the file is replaced, so the other names keep the old content`,
      );
    }
    await sweepTempFiles(req, dir, base);

    temp = join(dir, `.${base}.${randomBytes(6).toString("hex")}.tmp`);
    let handle: FileHandle;
    try {
      handle = await req.fs.open(temp, "wx", req.mode);
    } catch (error) {
      temp = undefined;
      throw writeError(req.path, "creating a temporary file in its directory", error);
    }
    try {
      await handle.writeFile(next, "utf8");
      const owner =
        req.owner ?? (current.stat ? { uid: current.stat.uid, gid: current.stat.gid } : undefined);
      // The common case, a file we own, needs no fstat.
      if (owner && (owner.uid !== process.geteuid?.() || owner.gid !== process.getegid?.())) {
        const mine = await handle.stat();
        if (mine.uid !== owner.uid || mine.gid !== owner.gid) {
          try {
            await handle.chown(owner.uid, owner.gid);
          } catch (error) {
            if (req.owner) throw error;
            req.logger?.warn(
              `credbridge: could not keep ${req.path} owned by ${owner.uid}:${owner.gid} (${systemCode(error) ?? error}); it is now owned by ${mine.uid}:${mine.gid}. Set the owner option or run the writer as that user.`,
            );
          }
        }
      }
      // After chown, and whatever the umask was at open.
      await handle.chmod(req.mode);
      await handle.sync();
    } catch (error) {
      throw writeError(req.path, "writing the temporary file", error);
    } finally {
      await handle.close().catch(() => {});
    }
    held.assertHeld();
    try {
      await req.fs.rename(temp, req.path);
    } catch (error) {
      throw writeError(req.path, "renaming the temporary file over it", error);
    }
    temp = undefined;
    await syncDirectory(req, dir);
    return true;
  } finally {
    if (temp !== undefined) await req.fs.unlink(temp).catch(() => {});
    await held.release();
  }
};
