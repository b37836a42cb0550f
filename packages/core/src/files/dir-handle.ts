import type * as fs from "node:fs";
import { constants, type Stats } from "node:fs";
import { join } from "node:path";

/**
 * The part of `node:fs` that opening directories uses: synchronous, so a walk
 * from `/` is one stretch no other code runs in. Inject a wrapper to simulate
 * a race or a missing /proc.
 */
export type DirectoryFs = Pick<
  typeof fs,
  | "openSync"
  | "closeSync"
  | "fstatSync"
  | "statSync"
  | "lstatSync"
  | "readlinkSync"
  | "mkdirSync"
  | "rmdirSync"
  | "fchownSync"
>;

/** Opens a directory, never through a symbolic link in its last component (ELOOP or ENOTDIR then). */
export const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * An open directory, and names inside it that no rename or symbolic link
 * planted above it can redirect. Node has no openat(2) family; on Linux a
 * descriptor's entry in /proc/self/fd is a link to the very directory opened,
 * so `/proc/self/fd/N/name` is looked up in it as openat(N, "name") would be.
 * Where /proc is missing (macOS), `at` falls back to the directory's path as
 * it was resolved, component by component, when it was opened: checked, but
 * open to a rename racing the write.
 */
export interface DirHandle {
  readonly fd: number;
  /** Where the directory was found, for messages. */
  readonly path: string;
  /** Whether `at` goes through /proc/self/fd (race-free) rather than the path. */
  readonly anchored: boolean;
  /** A path naming `name` inside this directory (`at("")` names the directory itself). */
  at(name: string): string;
  stat(): Stats;
  close(): void;
}

/** Whether `/proc/self/fd/N` reaches the directory `fd` is open on: the anchoring `at` relies on. */
const procAnchors = (fs: DirectoryFs, fd: number): boolean => {
  try {
    const viaProc = fs.statSync(`/proc/self/fd/${fd}`);
    const direct = fs.fstatSync(fd);
    return viaProc.ino === direct.ino && viaProc.dev === direct.dev;
  } catch {
    return false;
  }
};

const handle = (fs: DirectoryFs, fd: number, path: string, anchored: boolean): DirHandle => {
  let closed = false;
  return {
    fd,
    path,
    anchored,
    at: (name) => (anchored ? `/proc/self/fd/${fd}/${name}` : join(path, name)),
    stat: () => fs.fstatSync(fd),
    close: () => {
      if (closed) return;
      closed = true;
      fs.closeSync(fd);
    },
  };
};

/** The file system root, opened; decides once whether its children can be anchored through /proc. */
export const openRoot = (fs: DirectoryFs): DirHandle => {
  const fd = fs.openSync("/", DIRECTORY_FLAGS);
  return handle(fs, fd, "/", procAnchors(fs, fd));
};

/**
 * Opens the directory `name` inside `parent`, refusing to follow a symbolic
 * link there (ELOOP or ENOTDIR, as the kernel reports O_NOFOLLOW with
 * O_DIRECTORY). The handle is anchored as its parent is.
 */
export const openChild = (fs: DirectoryFs, parent: DirHandle, name: string): DirHandle => {
  const fd = fs.openSync(parent.at(name), DIRECTORY_FLAGS);
  return handle(fs, fd, join(parent.path, name), parent.anchored);
};
