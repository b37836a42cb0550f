import { describe, expect, it } from "vitest";
import { type ProcessIdentity, parseIdMap } from "./chown-identity.js";
import { chownRefusal } from "./chown-refusal.js";

const who = (over: Partial<ProcessIdentity>): ProcessIdentity => ({
  uid: 65532,
  gid: 65532,
  groups: [],
  capChown: false,
  ...over,
});
const APP = { uid: 10000, gid: 10000 };

describe("chownRefusal: whether a process can give the files it creates to an owner", () => {
  it.each([
    ["root with CAP_CHOWN", who({ uid: 0, gid: 0, capChown: true }), APP, undefined],
    ["any uid with CAP_CHOWN", who({ capChown: true }), APP, undefined],
    [
      "root where the kernel does not say (not Linux)",
      who({ uid: 0, gid: 0, capChown: undefined }),
      APP,
      undefined,
    ],
    ["already that user and group", who({ uid: 10000, gid: 10000 }), APP, undefined],
    [
      "root with CAP_CHOWN in the initial namespace",
      who({ uid: 0, gid: 0, capChown: true, uidMap: parseIdMap("         0          0 4294967295\n") }),
      APP,
      undefined,
    ],
    [
      "root in a namespace that maps the owner (rootless podman's subordinate range)",
      who({ uid: 0, gid: 0, capChown: true, uidMap: parseIdMap("0 1000 1\n1 100000 65536\n") }),
      APP,
      undefined,
    ],
    [
      "that user, the group a supplementary one (fsGroup)",
      who({ uid: 10000, gid: 1, groups: [10000] }),
      APP,
      undefined,
    ],
  ])("%s: may", (_, identity, owner, expected) => {
    expect(chownRefusal(owner, identity)).toBe(expected);
  });

  it.each([
    [
      "another uid without CAP_CHOWN (the manifests' 65532)",
      who({}),
      /runs as 65532:65532 without CAP_CHOWN.*another user/,
    ],
    [
      "root with every capability dropped",
      who({ uid: 0, gid: 0, capChown: false }),
      /runs as 0:0 with CAP_CHOWN dropped/,
    ],
    ["another uid where the kernel does not say", who({ capChown: undefined }), /without CAP_CHOWN/],
    ["that user, but not in the group", who({ uid: 10000, gid: 1, groups: [2] }), /not in group 10000/],
    [
      "root with CAP_CHOWN in a user namespace mapping only itself (unshare --map-root-user)",
      who({
        uid: 0,
        gid: 0,
        capChown: true,
        uidMap: parseIdMap("0 1000 1\n"),
        gidMap: parseIdMap("0 1000 1\n"),
      }),
      /^uid 10000 is not mapped in this process's user namespace \(\/proc\/self\/uid_map\)/,
    ],
    [
      "root with CAP_CHOWN, the uid mapped but not the gid",
      who({
        uid: 0,
        gid: 0,
        capChown: true,
        uidMap: parseIdMap("0 100000 65536"),
        gidMap: parseIdMap("0 1000 1"),
      }),
      /^gid 10000 is not mapped .*gid_map/,
    ],
  ])("%s: may not, and says why", (_, identity, reason) => {
    expect(chownRefusal(APP, identity)).toMatch(reason);
  });
});
