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
});
