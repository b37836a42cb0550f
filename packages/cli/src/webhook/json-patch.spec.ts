import { describe, expect, it } from "vitest";
import { diff, pointerSegment } from "./json-patch.js";

describe("diff", () => {
  it("gives nothing for equal documents", () => {
    expect(diff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
  });

  it("adds, removes and replaces object members by path", () => {
    expect(diff({ a: 1, b: 2 }, { a: 3, c: 4 })).toEqual([
      { op: "remove", path: "/b" },
      { op: "replace", path: "/a", value: 3 },
      { op: "add", path: "/c", value: 4 },
    ]);
  });

  it("escapes ~ and / in keys (annotation names)", () => {
    expect(pointerSegment("credbridge.io/inject~x")).toBe("credbridge.io~1inject~0x");
    expect(diff({ m: {} }, { m: { "a/b": "1" } })).toEqual([{ op: "add", path: "/m/a~1b", value: "1" }]);
  });

  it("appends to the end of an array with /- and recurses into same-length arrays", () => {
    expect(diff({ l: [1] }, { l: [1, 2, 3] })).toEqual([
      { op: "add", path: "/l/-", value: 2 },
      { op: "add", path: "/l/-", value: 3 },
    ]);
    expect(diff([{ x: 1 }], [{ x: 2 }])).toEqual([{ op: "replace", path: "/0/x", value: 2 }]);
  });

  it("inserts and removes array elements where they stand, and replaces an array whose elements moved", () => {
    expect(diff({ l: [1, 2] }, { l: [0, 1, 2] })).toEqual([{ op: "add", path: "/l/0", value: 0 }]);
    expect(diff({ l: [1, 2] }, { l: [1] })).toEqual([{ op: "remove", path: "/l/1" }]);
    expect(diff({ l: [1, 2, 3] }, { l: [0, 1, 4, 3] })).toEqual([
      { op: "add", path: "/l/0", value: 0 },
      { op: "replace", path: "/l/2", value: 4 },
    ]);
    expect(diff({ l: [1, 2] }, { l: [2, 1] })).toEqual([{ op: "replace", path: "/l", value: [2, 1] }]);
    expect(diff({ l: [1, 1] }, { l: [1] })).toEqual([{ op: "replace", path: "/l", value: [1] }]);
  });

  it("puts a new first element in with one add, the others' contents not copied (a 3 MB argument made a 3.7 MB patch)", () => {
    const own = { name: "init", args: ["a".repeat(3_000_000)] };
    const ours = { name: "credbridge" };
    const ops = diff({ initContainers: [own] }, { initContainers: [ours, own] }, "/spec");
    expect(ops).toEqual([{ op: "add", path: "/spec/initContainers/0", value: ours }]);
    expect(JSON.stringify(ops).length).toBeLessThan(100);
  });
});
