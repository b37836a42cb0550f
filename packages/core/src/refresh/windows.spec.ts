import { describe, expect, it } from "vitest";
import { isCredbridgeError } from "../errors.js";
import { DEFAULT_MIN_REMAINING_SECONDS, resolveWindows, validateWindows, windowsFor } from "./windows.js";

describe("windowsFor", () => {
  it("places the windows a minute and five minutes above the margin, which the engine accepts for any margin", () => {
    expect(windowsFor(DEFAULT_MIN_REMAINING_SECONDS)).toEqual({
      minRemainingSeconds: 900,
      mandatoryWindowSeconds: 960,
      advisoryWindowSeconds: 1200,
    });
    for (const margin of [0, 1, 900, 3000]) {
      expect(resolveWindows(windowsFor(margin))).toMatchObject({
        minRemainingMs: margin * 1000,
        mandatoryMs: (margin + 60) * 1000,
        advisoryMs: (margin + 300) * 1000,
      });
    }
  });

  it("leaves a bad margin to validateWindows, which names the margin", () => {
    for (const margin of [-1, -100, Number.NaN, "900" as unknown as number]) {
      let error: unknown;
      try {
        validateWindows(windowsFor(margin));
      } catch (e) {
        error = e;
      }
      expect(isCredbridgeError(error) && error.code, String(margin)).toBe("ERR_CONFIG");
      expect((error as Error).message).toMatch(
        /^refreshing: minRemainingSeconds must be a non-negative number/,
      );
    }
  });
});
