import { describe, expect, it } from "vitest";
import { DEFAULT_TOKEN_ISSUER, decodeJwtClaims, mintWebIdentityToken } from "./jwt.js";

const NOW = Date.UTC(2030, 0, 1);

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
