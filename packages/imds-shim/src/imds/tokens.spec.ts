import { describe, expect, it } from "vitest";
import { manualClock } from "../internal/credentials.spec.helper.js";
import { createTokenIssuer, MAX_TOKEN_TTL_SECONDS, parseTokenTtl } from "./tokens.js";

describe("createTokenIssuer", () => {
  it("issues distinct tokens that verify until their TTL, then expire", () => {
    const clock = manualClock();
    const issuer = createTokenIssuer(clock.now);
    const token = issuer.issue(60);
    expect(token).toMatch(/^[A-Za-z0-9_-]{74}$/);
    expect(issuer.issue(60)).not.toBe(token);
    expect(issuer.verify(token)).toBe("valid");
    clock.advance(59_999);
    expect(issuer.verify(token)).toBe("valid");
    clock.advance(1);
    expect(issuer.verify(token)).toBe("expired");
  });

  it("refuses tokens of another issuer (a restarted or different server)", () => {
    const clock = manualClock();
    const token = createTokenIssuer(clock.now).issue(MAX_TOKEN_TTL_SECONDS);
    expect(createTokenIssuer(clock.now).verify(token)).toBe("invalid");
  });

  it("refuses tampered, truncated, padded and non-canonical tokens", () => {
    const clock = manualClock();
    const issuer = createTokenIssuer(clock.now);
    const token = issuer.issue(60);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    // Byte 1..6 hold the expiry: pushing it forward without the key must fail.
    expect(issuer.verify(flip(token, 2))).toBe("invalid");
    expect(issuer.verify(flip(token, 40))).toBe("invalid");
    expect(issuer.verify(token.slice(0, -1))).toBe("invalid");
    expect(issuer.verify(`${token}=`)).toBe("invalid");
    expect(issuer.verify(`${token.slice(0, -1)}!`)).toBe("invalid");
    // The last character carries 2 bits and 4 unused ones: another character decodes to the same bytes.
    const last = token.at(-1) as string;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = alphabet[alphabet.indexOf(last) ^ 1] as string;
    expect(Buffer.from(token.slice(0, -1) + twin, "base64url")).toEqual(Buffer.from(token, "base64url"));
    expect(issuer.verify(token.slice(0, -1) + twin)).toBe("invalid");
    expect(issuer.verify("")).toBe("invalid");
    expect(issuer.verify("x".repeat(10_000))).toBe("invalid");
  });

  it("keeps its cache of verified tokens bounded and exact across overflows", () => {
    const clock = manualClock();
    const issuer = createTokenIssuer(clock.now);
    const tokens = Array.from({ length: 3000 }, (_, i) => issuer.issue(1 + (i % 5)));
    for (const t of tokens) expect(issuer.verify(t)).toBe("valid");
    for (const t of tokens) expect(issuer.verify(t)).toBe("valid");
    clock.advance(3_000);
    expect(tokens.map((t) => issuer.verify(t)).filter((v) => v === "valid").length).toBe(1200);
  });

  it("needs no store: tokens issued before a flood stay valid after it", () => {
    const clock = manualClock();
    const issuer = createTokenIssuer(clock.now);
    const first = issuer.issue(21_600);
    for (let i = 0; i < 50_000; i++) issuer.issue(21_600);
    expect(issuer.verify(first)).toBe("valid");
  });
});

describe("parseTokenTtl", () => {
  it.each([
    ["1", 1],
    ["21600", 21_600],
    ["00060", 60],
  ])("accepts %j", (header, ttl) => {
    expect(parseTokenTtl(header)).toBe(ttl);
  });

  it.each([
    undefined,
    "",
    "0",
    "21601",
    "-1",
    "1.5",
    "1e3",
    " 60",
    "60 ",
    "abc",
    "60, 60",
    "999999",
    ["60", "60"],
  ])("refuses %j", (header) => {
    expect(parseTokenTtl(header as string | string[] | undefined)).toBeUndefined();
  });
});
