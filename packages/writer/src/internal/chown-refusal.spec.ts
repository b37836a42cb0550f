import { describe, expect, it } from "vitest";
import type { ProcessIdentity } from "./chown-identity.js";
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
  ])("%s: may not, and says why", (_, identity, reason) => {
    expect(chownRefusal(APP, identity)).toMatch(reason);
  });
});
