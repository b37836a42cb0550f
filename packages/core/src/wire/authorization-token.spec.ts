import { describe, expect, it } from "vitest";
import { isCredbridgeError } from "../errors.js";
import { parseAuthorizationToken } from "./authorization-token.js";

describe("parseAuthorizationToken", () => {
  it.each([
    ["token", "token"],
    ["token\n", "token"],
    ["token\r\n", "token"],
    // What an HTTP header can carry: the spaces and tabs at either end never arrive.
    ["token ", "token"],
    [" token\t\n", "token"],
    ["to ken", "to ken"],
  ])("reads %j as %j", (raw, token) => {
    expect(parseAuthorizationToken(raw, "the file")).toBe(token);
  });

  it.each([
    ["", /the file is empty/],
    ["\n", /the file is empty/],
    ["  \n", /the file is empty/],
    ["token\n\n", /line break inside the token/],
    ["line-one\nline-two", /line break inside the token/],
    ["token\r", /line break inside the token/],
    ["tok\u00e9n", /character outside printable ASCII/],
    ["token\u2028", /character outside printable ASCII/],
    ["tok\u0000en", /character outside printable ASCII/],
    ["tok\u007fen", /character outside printable ASCII/],
    ["\ufefftoken", /character outside printable ASCII/],
  ])("refuses %j", (raw, message) => {
    let error: unknown;
    try {
      parseAuthorizationToken(raw, "the file");
    } catch (e) {
      error = e;
    }
    expect(isCredbridgeError(error) && error.code).toBe("ERR_TOKEN_FILE");
    expect((error as Error).message).toMatch(message);
  });

  it("never puts the token in its error", () => {
    expect(() => parseAuthorizationToken("sekrit\nvalue", "the file")).toThrow(
      expect.not.objectContaining({ message: expect.stringContaining("sekrit") }),
    );
  });

  it("reports the code the caller names", () => {
    expect(() => parseAuthorizationToken("", "authToken", "ERR_CONFIG")).toThrow(
      expect.objectContaining({ code: "ERR_CONFIG" }),
    );
  });
});
