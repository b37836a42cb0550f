import { describe, expect, it } from "vitest";
import { FaultQueue } from "./faults.js";

describe("FaultQueue", () => {
  it("hands faults out first in, first out, one per request", () => {
    const q = new FaultQueue<string>();
    q.push("a");
    q.push("b", { times: 2 });
    expect([q.take(), q.take(), q.take(), q.take()]).toEqual(["a", "b", "b", undefined]);
    expect(q.size).toBe(0);
  });

  it("keeps an action-scoped fault for its action, letting later unscoped faults go first", () => {
    const q = new FaultQueue<string>();
    q.push("for-assume-role", { action: "AssumeRole" });
    q.push("any");
    expect(q.take("GetCallerIdentity")).toBe("any");
    expect(q.take("GetCallerIdentity")).toBeUndefined();
    expect(q.take("AssumeRole")).toBe("for-assume-role");
  });

  it("repeats an Infinity fault until cleared", () => {
    const q = new FaultQueue<string>();
    q.push("always", { times: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 100; i++) expect(q.take()).toBe("always");
    expect(q.size).toBe(1);
    q.clear();
    expect(q.take()).toBeUndefined();
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses times = %s", (times) => {
    expect(() => new FaultQueue<string>().push("x", { times })).toThrow(RangeError);
  });
});
