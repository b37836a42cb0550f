import { describe, expect, it } from "vitest";
import {
  audiences,
  DEFAULT_TOKEN_ISSUER,
  decodeJwtClaims,
  MalformedJwtError,
  mintWebIdentityToken,
} from "./jwt.js";

const NOW = Date.UTC(2030, 0, 1);
const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("mintWebIdentityToken", () => {
  it("mints a three-part JWT with the emulator's header and EKS-like defaults", () => {
    const token = mintWebIdentityToken({ now: () => NOW });
    const [header, , signature] = token.split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({
      alg: "RS256",
      kid: "credbridge-emulator",
      typ: "JWT",
    });
    expect(signature).toMatch(/^[A-Za-z0-9_-]{300,}$/);
    const claims = decodeJwtClaims(token);
    expect(claims).toMatchObject({
      iss: DEFAULT_TOKEN_ISSUER,
      sub: "system:serviceaccount:default:app",
      aud: ["sts.amazonaws.com"],
      iat: NOW / 1000,
      nbf: NOW / 1000,
      exp: NOW / 1000 + 86_400,
      "kubernetes.io": { namespace: "default", serviceaccount: { name: "app" } },
    });
  });

  it("takes overrides and extra claims, and a fresh signature each time", () => {
    const options = {
      iss: "https://issuer.test",
      sub: "me",
      aud: "x",
      exp: 5,
      iat: 1,
      extra: { jti: "abc" },
    };
    const a = mintWebIdentityToken(options);
    const claims = decodeJwtClaims(a);
    expect(claims).toMatchObject({
      iss: "https://issuer.test",
      sub: "me",
      aud: "x",
      exp: 5,
      iat: 1,
      jti: "abc",
    });
    expect(claims).not.toHaveProperty("kubernetes.io");
    expect(mintWebIdentityToken(options)).not.toBe(a);
  });
});

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
    expect(decodeJwtClaims(`${mintWebIdentityToken({ sub: "s" })}\n`).sub).toBe("s");
  });

  it("lists audiences whether aud is a string, a list or absent", () => {
    expect(audiences({ aud: "a" })).toEqual(["a"]);
    expect(audiences({ aud: ["a", "b"] })).toEqual(["a", "b"]);
    expect(audiences({})).toEqual([]);
  });
});
