import { describe, expect, it } from "vitest";
import { checkProfileName, parseOwner } from "./validate.js";

describe("checkProfileName", () => {
  it("accepts what every SDK reads and refuses the rest", () => {
    for (const ok of ["default", "prod.eu-west-1", "a_b-c@d+e%f:g/h"]) expect(checkProfileName(ok)).toBe(ok);
    for (const bad of ["", "a b", "a]b", "[a", "a\nb", "__proto__", "ü"])
      expect(() => checkProfileName(bad)).toThrow(/profile name/);
  });
});

describe("parseOwner", () => {
  it("takes uid:gid or an object", () => {
    expect(parseOwner("10000:10001")).toEqual({ uid: 10000, gid: 10001 });
    expect(parseOwner({ uid: 0, gid: 0 })).toEqual({ uid: 0, gid: 0 });
    expect(parseOwner(undefined)).toBeUndefined();
    for (const bad of ["harbor", "1:", "1:2:3", "-1:2"]) expect(() => parseOwner(bad)).toThrow(/owner/);
    expect(() => parseOwner({ uid: 1.5, gid: 0 })).toThrow(/owner/);
  });
});
