import { describe, expect, it } from "vitest";
import { expectedToken, tokensMatch } from "./auth-token.js";

describe("tokensMatch", () => {
  it("matches only the exact value, whatever the lengths", () => {
    const abc = expectedToken("abc");
    expect(tokensMatch("abc", abc)).toBe(true);
    expect(tokensMatch("abd", abc)).toBe(false);
    expect(tokensMatch("ab", abc)).toBe(false);
    expect(tokensMatch("abcd", abc)).toBe(false);
    expect(tokensMatch("", abc)).toBe(false);
    expect(tokensMatch("é", expectedToken("é"))).toBe(true);
  });

  it("compares code units, never a lossy byte form of them", () => {
    // One byte per character would make "\u0141" (Ł) and "A" (0x41) the same.
    expect(tokensMatch("A", expectedToken("\u0141"))).toBe(false);
    expect(tokensMatch("\u0141", expectedToken("A"))).toBe(false);
    expect(tokensMatch("\ud83d\ude00", expectedToken("\ud83d\ude00"))).toBe(true);
    expect(tokensMatch("\ud83d", expectedToken("\ud83d\ude00"))).toBe(false);
  });

  it("matches tokens longer than the fixed comparison size, and refuses values that only start with the token", () => {
    const long = `${"t".repeat(300)}x`;
    const expected = expectedToken(long);
    expect(tokensMatch(long, expected)).toBe(true);
    expect(tokensMatch(`${long.slice(0, -1)}y`, expected)).toBe(false);
    expect(tokensMatch(`${long}x`, expected)).toBe(false);
    const short = expectedToken("abc");
    expect(tokensMatch(`abc${"\0".repeat(300)}`, short)).toBe(false);
    expect(tokensMatch("abc".padEnd(5000, "c"), short)).toBe(false);
    expect(tokensMatch("abc", short)).toBe(true);
  });

  it("compares over 128 bytes for any token up to 64 code units, so their lengths do not show in the timing", () => {
    expect(expectedToken("a").padded.length).toBe(128);
    expect(expectedToken("a".repeat(64)).padded.length).toBe(128);
    expect(expectedToken("a".repeat(65)).padded.length).toBe(256);
    expect(expectedToken("a".repeat(65)).scratch.length).toBe(256);
  });

  it("leaves nothing of a longer presented value behind for the next comparison", () => {
    const expected = expectedToken("abc");
    expect(tokensMatch("abcdefgh", expected)).toBe(false);
    expect(tokensMatch("abc", expected)).toBe(true);
    expect(tokensMatch("ab", expected)).toBe(false);
    expect(tokensMatch("abc", expected)).toBe(true);
  });
});
