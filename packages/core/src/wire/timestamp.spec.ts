import { describe, expect, it } from "vitest";
import { rfc3339Seconds } from "./timestamp.js";

describe("rfc3339Seconds", () => {
  it("writes UTC to the second with Z, truncating the milliseconds", () => {
    expect(rfc3339Seconds(new Date("2026-01-01T00:15:00.999Z"))).toBe("2026-01-01T00:15:00Z");
    expect(rfc3339Seconds(new Date("2026-12-31T23:59:59.000Z"))).toBe("2026-12-31T23:59:59Z");
  });
});
