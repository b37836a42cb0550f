import { readFileSync } from "node:fs";

/** Who this process is, as far as giving a file to another user goes. */
export interface ProcessIdentity {
  uid: number;
  gid: number;
  /** Supplementary groups: a file's owner may give it to any group it belongs to. */
  groups: readonly number[];
  /**
   * Whether CAP_CHOWN is in the effective set; undefined where the kernel does
   * not say (not Linux), and then only uid 0 counts as able to.
   */
  capChown: boolean | undefined;
  /**
   * The user ids this process's user namespace maps (/proc/self/uid_map); undefined where the
   * kernel does not say. Even CAP_CHOWN cannot give a file to an unmapped id: chown fails EINVAL.
   */
  uidMap?: readonly IdRange[] | undefined;
  /** The same for group ids (/proc/self/gid_map). */
  gidMap?: readonly IdRange[] | undefined;
}

/** One line of /proc/self/uid_map or gid_map: ids `first` to `first + count - 1` inside. */
export interface IdRange {
  first: number;
  count: number;
}

/** The ranges of a uid_map / gid_map (`inside outside count` per line). */
export const parseIdMap = (text: string): IdRange[] =>
  text
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isSafeInteger))
    .map(([first, , count]) => ({ first: first!, count: count! }));

/** Whether `id` is in one of `ranges`; true when they are unknown. */
export const isMapped = (id: number, ranges: readonly IdRange[] | undefined): boolean =>
  ranges === undefined || ranges.some((r) => id >= r.first && id < r.first + r.count);

const readIdMap = (path: string): IdRange[] | undefined => {
  try {
    return parseIdMap(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
};

/** CAP_CHOWN is capability 0: the lowest bit of /proc's CapEff mask. */
const capChownOf = (status: string): boolean | undefined => {
  const hex = /^CapEff:\s*([0-9a-f]+)$/im.exec(status)?.[1];
  return hex === undefined ? undefined : (BigInt(`0x${hex}`) & 1n) === 1n;
};

/** This process's effective ids, groups and CAP_CHOWN, read from the kernel. */
export const processIdentity = (): ProcessIdentity => {
  let status: string | undefined;
  try {
    status = readFileSync("/proc/self/status", "utf8");
  } catch {}
  return {
    uid: process.geteuid?.() ?? -1,
    gid: process.getegid?.() ?? -1,
    groups: process.getgroups?.() ?? [],
    capChown: status === undefined ? undefined : capChownOf(status),
    uidMap: readIdMap("/proc/self/uid_map"),
    gidMap: readIdMap("/proc/self/gid_map"),
  };
};
