import { describe, expect, it } from "vitest";
import { noHomeReason } from "./env.js";

describe("noHomeReason", () => {
  it("tells an empty HOME from an unset one", () => {
    expect(noHomeReason({}, 65532)).toBe("HOME is unset and uid 65532 has no passwd entry");
    expect(noHomeReason({ HOME: "" }, 65532)).toBe("HOME is empty and uid 65532 has no passwd entry");
    expect(noHomeReason({ HOME: "" }, undefined)).toBe("HOME is empty and this uid has no passwd entry");
  });
});
