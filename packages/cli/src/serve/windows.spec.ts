import { describe, expect, it } from "vitest";
import { UsageError } from "../args/usage-error.js";
import { checkRefreshTimeout, longestRefreshSeconds, serveWindows } from "./windows.js";

describe("serve's windows", () => {
  it("sit a minute and five minutes outside the margin, with a minute of jitter, whatever the margin", () => {
    expect(serveWindows(900)).toEqual({
      minRemainingSeconds: 900,
      mandatoryWindowSeconds: 960,
      advisoryWindowSeconds: 1200,
      jitterSeconds: 60,
    });
    // The latest background start is 240 s before the margin, the mandatory window 60 s before it.
    for (const margin of [0, 2, 900, 3000]) expect(longestRefreshSeconds(serveWindows(margin))).toBe(180);
  });

  it("take a --refresh-timeout a background refresh can finish within before the mandatory window", () => {
    for (const t of [undefined, 1, 60, 180])
      expect(() => checkRefreshTimeout(t, serveWindows(900))).not.toThrow();
  });

  it("refuse a longer one, naming both flags, the windows in seconds and the most it may be", () => {
    const refused = (t: number, margin: number) => {
      try {
        checkRefreshTimeout(t, serveWindows(margin));
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as UsageError).message;
      }
      throw new Error(`--refresh-timeout ${t} was taken`);
    };
    expect(refused(181, 900)).toBe(
      "--refresh-timeout 181 is longer than a refresh can take before the sidecar turns unready: with --min-remaining 900, " +
        "serve starts refreshing in the background 1140–1200 s before expiry (240–300 s before the margin), and from 960 s before expiry " +
        "(60 s before the margin) /readyz fails and callers wait. Give --refresh-timeout at most 180.",
    );
    expect(refused(300, 2)).toMatch(/with --min-remaining 2, .* 242–302 s before expiry .* at most 180\.$/);
  });
});
