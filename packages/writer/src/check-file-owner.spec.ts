import { describe, expect, it } from "vitest";
import { checkFileOwner } from "./check-file-owner.js";
import { isCredentialsFileError } from "./errors.js";

const NON_ROOT = { uid: 65532, gid: 65532, groups: [], capChown: false };

describe("checkFileOwner", () => {
  it("throws ERR_CHOWN naming the file, the cause and the fixes", () => {
    let thrown: unknown;
    try {
      checkFileOwner({ path: "/home/harbor/.aws/credentials", owner: "10000:10000", identity: NON_ROOT });
    } catch (error) {
      thrown = error;
    }
    expect(isCredentialsFileError(thrown) && thrown.code).toBe("ERR_CHOWN");
    const message = (thrown as Error).message;
    expect(message).toContain("/home/harbor/.aws/credentials to 10000:10000");
    expect(message).toContain("runs as 65532:65532 without CAP_CHOWN");
    expect(message).toContain("runAsUser: 10000, runAsGroup: 10000");
    expect(message).toContain('add: ["CHOWN"]');
  });

  it("refuses, at start, an owner the process's user namespace does not map, even with CAP_CHOWN", () => {
    const userns = {
      uid: 0,
      gid: 0,
      groups: [],
      capChown: true,
      uidMap: [{ first: 0, count: 1 }],
      gidMap: [{ first: 0, count: 1 }],
    };
    expect(() => checkFileOwner({ path: "/creds", owner: "10000:10000", identity: userns })).toThrow(
      /cannot give \/creds to 10000:10000 \(--file-owner\): uid 10000 is not mapped in this process's user namespace .*map it into the namespace/,
    );
    expect(() => checkFileOwner({ path: "/creds", owner: "0:0", identity: userns })).not.toThrow();
  });

  it("passes when the process is that user already, and checks the owner's syntax first", () => {
    expect(() =>
      checkFileOwner({ path: "/x", owner: { uid: 65532, gid: 65532 }, identity: NON_ROOT }),
    ).not.toThrow();
    expect(() => checkFileOwner({ path: "/x", owner: "app", identity: NON_ROOT })).toThrow(/uid:gid/);
    // The limit stated, and the ids as given (not Number()'s rounding of them).
    expect(() => checkFileOwner({ path: "/x", owner: "4294967295:0", identity: NON_ROOT })).toThrow(
      'owner ids must be whole numbers from 0 to 4294967294, got "4294967295:0"',
    );
    expect(() => checkFileOwner({ path: "/x", owner: "99999999999999999999:1", identity: NON_ROOT })).toThrow(
      'got "99999999999999999999:1"',
    );
  });
});
