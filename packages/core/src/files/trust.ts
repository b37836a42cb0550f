import type { Stats } from "node:fs";
import type { DirHandle } from "./dir-handle.js";

/** Permission bits as `ls` and chmod(1) show them: `0600`. */
export const modeString = (st: Stats): string => (st.mode & 0o7777).toString(8).padStart(4, "0");

/** Root and this process's user: who can change anything this process can, and nobody else. */
const trustedUser = (uid: number): boolean => uid === 0 || uid === process.geteuid?.();

/** Whether users other than a directory's owner may add, rename or remove entries in it. */
export const othersMayWrite = (st: Stats): boolean => (st.mode & 0o022) !== 0;

const STICKY = 0o1000;

/**
 * Why a symbolic link in `parent` must not be followed, or undefined when only
 * root and this process's user could have made it or could change it: it
 * belongs to one of them, in a directory that belongs to one of them and that
 * nobody else may write (or may write only under the sticky bit, which keeps
 * others from replacing entries they do not own).
 */
export const untrustedLink = (link: Stats, parent: DirHandle): string | undefined => {
  const dir = parent.stat();
  if (!trustedUser(link.uid)) return `the link belongs to uid ${link.uid}`;
  if (!trustedUser(dir.uid)) return `${parent.path} belongs to uid ${dir.uid}`;
  if (othersMayWrite(dir) && (dir.mode & STICKY) === 0) {
    return `${parent.path} is writable by group or others (mode ${modeString(dir)})`;
  }
  return undefined;
};

/**
 * Why a file holding a secret must not be trusted, or undefined when it may:
 * it belongs to one of `owners` and nobody else may write it. (A directory
 * others may write is the link rules' concern: see {@link untrustedLink}.)
 */
export const untrustedFile = (st: Stats, owners: readonly number[]): string | undefined => {
  if (!owners.includes(st.uid)) {
    const allowed = [...new Set(owners)].map((uid) => `uid ${uid}`).join(" or ");
    return `it belongs to uid ${st.uid}, not to ${allowed}`;
  }
  if (othersMayWrite(st)) return `it is writable by group or others (mode ${modeString(st)})`;
  return undefined;
};
