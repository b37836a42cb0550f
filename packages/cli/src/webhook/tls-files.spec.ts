import { describe, expect, it } from "vitest";
import { type TlsPair, validityProblem } from "./tls-files.js";

const pair = (notBefore: string, notAfter: string): TlsPair => ({
  options: {},
  names: [],
  notBefore: new Date(notBefore),
  notAfter: new Date(notAfter),
  fingerprint: "",
});

describe("validityProblem", () => {
  const valid = pair("2026-12-01T00:00:00Z", "2026-12-31T00:00:00Z");
  it.each([
    ["within its dates", "2026-12-07T00:00:00Z", undefined],
    ["on its first second", "2026-12-01T00:00:00Z", undefined],
    ["on its last second", "2026-12-31T00:00:00Z", undefined],
    ["after notAfter", "2026-12-31T00:00:01Z", "the certificate expired at 2026-12-31T00:00:00.000Z"],
    [
      "before notBefore (a clock behind the issuer's)",
      "2026-11-30T23:59:59Z",
      "the certificate is not valid before 2026-12-01T00:00:00.000Z",
    ],
  ])("%s", (_, now, problem) => {
    expect(validityProblem(valid, Date.parse(now))).toBe(problem);
  });
});
