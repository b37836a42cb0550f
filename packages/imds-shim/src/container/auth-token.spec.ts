import { describe, expect, it } from "vitest";
import { expectedToken, parseTokenFile, tokensMatch } from "./auth-token.js";

describe("parseTokenFile", () => {
  it.each([
    ["token\n", "token"],
    ["token\r\n", "token"],
    ["token", "token"],
    [" spaced token ", " spaced token "],
  ])("reads %j as %j", (text, token) => {
    expect(parseTokenFile(text, "/f")).toBe(token);
  });

  it.each(["", "\n", "token\n\n", "tok\nen", "tok\ren", "token\r"])("refuses %j", (text) => {
    expect(() => parseTokenFile(text, "/f")).toThrow(expect.objectContaining({ code: "ERR_TOKEN_FILE" }));
  });

  it("never puts the token in its error", () => {
    expect(() => parseTokenFile("sekrit\nvalue", "/f")).toThrow(
      expect.not.objectContaining({ message: expect.stringContaining("sekrit") }),
    );
  });
});

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
