import { describe, expect, it } from "vitest";
import {
  jsonShapeProblem,
  MAX_JSON_DEPTH,
  MAX_JSON_MEMBERS,
  MAX_JSON_NAMES,
  MAX_JSON_STRUCTURES,
} from "./json-shape.js";

describe("jsonShapeProblem", () => {
  it("passes a pod of ordinary shape, brackets inside strings and escaped quotes included", () => {
    const pod = {
      metadata: { annotations: { a: '[{"x": "\\"[[["}]' } },
      spec: { containers: [{ name: "app" }] },
    };
    expect(jsonShapeProblem(JSON.stringify(pod))).toBeUndefined();
    expect(jsonShapeProblem(`[${"{},".repeat(MAX_JSON_STRUCTURES - 2)}{}]`)).toBeUndefined();
    expect(jsonShapeProblem(`${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}`)).toBeUndefined();
  });

  it("refuses more objects and arrays than MAX_JSON_STRUCTURES, and nesting deeper than MAX_JSON_DEPTH", () => {
    expect(jsonShapeProblem(`[${"{},".repeat(MAX_JSON_STRUCTURES)}{}]`)).toBe(
      `the review holds more than ${MAX_JSON_STRUCTURES} objects and arrays`,
    );
    expect(jsonShapeProblem(`${"[".repeat(MAX_JSON_DEPTH + 1)}${"]".repeat(MAX_JSON_DEPTH + 1)}`)).toBe(
      `the review nests objects and arrays more than ${MAX_JSON_DEPTH} deep`,
    );
    // Brackets in strings do not count, after an escaped quote or an escaped backslash either.
    expect(jsonShapeProblem(JSON.stringify(["[".repeat(MAX_JSON_STRUCTURES * 2)]))).toBeUndefined();
    expect(jsonShapeProblem(JSON.stringify(['a"', "[".repeat(MAX_JSON_STRUCTURES * 2)]))).toBeUndefined();
    expect(jsonShapeProblem(JSON.stringify(["a\\", "[".repeat(MAX_JSON_STRUCTURES * 2)]))).toBeUndefined();
    // And a backslash ending a string does not hide the brackets after it.
    expect(jsonShapeProblem(`["a\\\\",${"[".repeat(MAX_JSON_DEPTH + 1)}`)).toMatch(/nests/);
  });

  it("refuses more object members than MAX_JSON_MEMBERS and more distinct names than MAX_JSON_NAMES, whatever the spacing", () => {
    const object = (count: number, name: (i: number) => string) =>
      `{${Array.from({ length: count }, (_, i) => `"${name(i)}" :\t0`).join(",")}}`;
    expect(jsonShapeProblem(object(MAX_JSON_NAMES, (i) => `k${i}`))).toBeUndefined();
    expect(jsonShapeProblem(object(MAX_JSON_NAMES + 1, (i) => `k${i}`))).toBe(
      `the review holds more than ${MAX_JSON_NAMES} distinct member names`,
    );
    // Names repeated across objects: only the members count.
    const env = (count: number) =>
      `[${Array.from({ length: count }, (_, i) => `{"name":"V${i}","value":"x","a":1,"b":2}`).join(",")}]`;
    expect(jsonShapeProblem(env(MAX_JSON_MEMBERS / 4))).toBeUndefined();
    expect(jsonShapeProblem(env(MAX_JSON_MEMBERS / 4 + 1))).toBe(
      `the review holds more than ${MAX_JSON_MEMBERS} object members`,
    );
    // Strings that are values, however many, are no names.
    expect(
      jsonShapeProblem(JSON.stringify(Array.from({ length: MAX_JSON_NAMES * 2 }, (_, i) => `v${i}`))),
    ).toBeUndefined();
  });
});
