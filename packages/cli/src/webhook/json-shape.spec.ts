import { describe, expect, it } from "vitest";
import { jsonShapeProblem, MAX_JSON_DEPTH, MAX_JSON_STRUCTURES } from "./json-shape.js";

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
});
