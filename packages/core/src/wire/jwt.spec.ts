import { describe, expect, it } from "vitest";
import { audiences, decodeJwtClaims, MalformedJwtError } from "./jwt.js";

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("decodeJwtClaims", () => {
  const header = segment({ alg: "RS256" });

  it.each([
    ["two segments", `${header}.${segment({})}`],
    ["an empty signature", `${header}.${segment({})}.`],
    ["a payload that is not base64url", `${header}.***.sig`],
    ["a payload that is not JSON", `${header}.${Buffer.from("nope").toString("base64url")}.sig`],
    ["a payload that is an array", `${header}.${segment([1])}.sig`],
    ["a header that is not JSON", `abc.${segment({})}.sig`],
    ["a string exp", `${header}.${segment({ exp: "soon" })}.sig`],
    ["a numeric sub", `${header}.${segment({ sub: 1 })}.sig`],
    ["an aud of numbers", `${header}.${segment({ aud: [1] })}.sig`],
  ])("rejects %s", (_what, token) => {
    expect(() => decodeJwtClaims(token)).toThrow(MalformedJwtError);
  });

  it("tolerates surrounding whitespace (token files end with a newline)", () => {
    expect(decodeJwtClaims(`${segment({ alg: "RS256" })}.${segment({ sub: "s" })}.sig\n`).sub).toBe("s");
  });

  it("lists audiences whether aud is a string, a list or absent", () => {
    expect(audiences({ aud: "a" })).toEqual(["a"]);
    expect(audiences({ aud: ["a", "b"] })).toEqual(["a", "b"]);
    expect(audiences({})).toEqual([]);
  });
});
