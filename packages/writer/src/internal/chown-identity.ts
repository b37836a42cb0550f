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
}

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
  };
};
