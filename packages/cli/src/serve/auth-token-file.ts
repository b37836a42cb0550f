import { randomBytes } from "node:crypto";
import { constants, existsSync, type Stats } from "node:fs";
import { type FileHandle, lstat, mkdir, open } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { CredbridgeError } from "@credbridge/core";

const { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;

/** `"10000:10000"` → ids; the flag was checked by `fileOptions`. */
const ids = (owner: string): [number, number] => owner.split(":").map(Number) as [number, number];

/** A directory held open: every later step goes through the descriptor, not the path. */
interface OpenDirectory {
  handle: FileHandle;
  /** For messages only. */
  path: string;
  stat: Stats;
}

/**
 * `name` inside an open directory, as a path the kernel resolves from the
 * directory the descriptor holds, not by walking its path again: what
 * openat(2) and mkdirat(2) do and Node lacks. Another user renaming the
 * directory, or swapping a symbolic link in for it, changes nothing. Linux
 * (/proc/self/fd); elsewhere the plain path, with the same checks on what was
 * opened.
 */
const inDirectory = (dir: OpenDirectory, name: string): string =>
  existsSync("/proc/self/fd") ? `/proc/self/fd/${dir.handle.fd}/${name}` : join(dir.path, name);

const opened = async (path: string, handle: FileHandle): Promise<OpenDirectory> => ({
  handle,
  path,
  stat: await handle.stat(),
});

const euid = (): number | undefined => process.geteuid?.();

/** Whether a user other than root and this process may add, rename or replace entries of `dir`. */
const othersMayWrite = (dir: Stats): boolean =>
  (dir.mode & 0o022) !== 0 || (dir.uid !== 0 && dir.uid !== euid());

const refused = (path: string, why: string): CredbridgeError =>
  new CredbridgeError(
    `--container-auth-token-file: ${path} ${why}; refusing to create the token through it. Put the token in a directory that only this user (or root) can change, such as the shared volume's mount point itself`,
    { code: "ERR_CONFIG" },
  );

/**
 * A symbolic link met on the way: followed where only root or this user could
 * have placed it (`/var/run` → `/run`), or in a sticky directory where it
 * belongs to this user or the directory's owner (the kernel's own
 * protected_symlinks rule); refused where another user could have planted it.
 */
const followLink = async (parent: OpenDirectory, name: string, path: string): Promise<OpenDirectory> => {
  const at = inDirectory(parent, name);
  if (othersMayWrite(parent.stat)) {
    const link = await lstat(at);
    const sticky = (parent.stat.mode & 0o1000) !== 0;
    if (!(sticky && (link.uid === euid() || link.uid === parent.stat.uid))) {
      throw refused(
        path,
        `is a symbolic link (owned by uid ${link.uid}) in ${parent.path}, a directory other users can write`,
      );
    }
  }
  return opened(path, await open(at, O_RDONLY | O_DIRECTORY));
};

/** Whether opening `at` with O_NOFOLLOW | O_DIRECTORY failed on a symbolic link (ELOOP, or ENOTDIR on Linux). */
const isLink = async (error: unknown, at: string): Promise<boolean> => {
  const code = (error as { code?: string }).code;
  if (code === "ELOOP") return true;
  if (code !== "ENOTDIR") return false;
  return (await lstat(at).catch(() => undefined))?.isSymbolicLink() === true;
};

/**
 * Opens `name` in `parent`, creating it (0700) when missing and handing what
 * it created to `owner`. A directory created here is opened without following
 * links and checked to be the one just made before its owner is changed, on
 * the descriptor: a link or another directory swapped in between is refused.
 */
const step = async (
  parent: OpenDirectory,
  name: string,
  path: string,
  owner: [number, number] | undefined,
): Promise<OpenDirectory> => {
  const at = inDirectory(parent, name);
  let created = false;
  try {
    return await opened(path, await open(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  } catch (error) {
    if (await isLink(error, at)) return followLink(parent, name, path);
    if ((error as { code?: string }).code !== "ENOENT") throw error;
  }
  try {
    await mkdir(at, { mode: 0o700 });
    created = true;
  } catch (error) {
    // Made by someone else meanwhile: opened as any existing directory, below.
    if ((error as { code?: string }).code !== "EEXIST") throw error;
  }
  let handle: FileHandle;
  try {
    handle = await open(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (!created && (await isLink(error, at))) return followLink(parent, name, path);
    if (code === "ELOOP" || code === "ENOENT" || code === "ENOTDIR") {
      throw refused(path, "was replaced while it was being created (another user is racing for it)");
    }
    throw error;
  }
  const dir = await opened(path, handle);
  if (!created) return dir;
  try {
    if (dir.stat.uid !== euid()) {
      throw refused(path, `was replaced while it was being created by a directory of uid ${dir.stat.uid}`);
    }
    if (owner) await handle.chown(...owner);
    return dir;
  } catch (error) {
    await handle.close();
    throw error;
  }
};

/** Opens `dir`, creating what is missing, one component at a time from `/`, each through its parent's descriptor. */
const openDirectoryPath = async (
  dir: string,
  owner: [number, number] | undefined,
): Promise<OpenDirectory> => {
  const parts = dir.split(sep).filter(Boolean);
  let current = await opened("/", await open("/", O_RDONLY | O_DIRECTORY));
  try {
    for (let i = 0; i < parts.length; i++) {
      const next = await step(current, parts[i] as string, `/${parts.slice(0, i + 1).join("/")}`, owner);
      await current.handle.close();
      current = next;
    }
    return current;
  } catch (error) {
    await current.handle.close();
    throw error;
  }
};

/**
 * Creates the container endpoint's token file with a random token when it does
 * not exist (mode and owner like the credentials file, 0600 by default), so the
 * sidecar and the application can share it through a volume: an app running as
 * another user reads it through the pod's fsGroup (0640) or as its owner. An
 * existing file is left as it is (the container server refuses it at start if
 * no request could match it).
 *
 * The volume is often writable by that other user (a 0777 emptyDir), who could
 * swap a symbolic link in for any name at any moment: directories are created
 * and handed over through descriptors, the file is created with O_EXCL and
 * O_NOFOLLOW in the directory actually opened, and its mode and owner are set
 * on the descriptor that created it, never by path.
 */
export const ensureAuthTokenFile = async (
  path: string,
  owner: string | undefined,
  mode = 0o600,
): Promise<boolean> => {
  const full = resolve(path);
  const dir = await openDirectoryPath(dirname(full), owner === undefined ? undefined : ids(owner));
  let file: FileHandle;
  try {
    file = await open(inDirectory(dir, basename(full)), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw error;
  } finally {
    await dir.handle.close();
  }
  try {
    // No trailing newline: aws-sdk v2 and v3 send the file's bytes as the header, and Node refuses a newline in one.
    await file.writeFile(randomBytes(32).toString("base64url"));
    // The umask may have taken bits the mode asked for.
    await file.chmod(mode);
    if (owner) await file.chown(...ids(owner));
  } finally {
    await file.close();
  }
  return true;
};
