import { describe, expect, it } from "vitest";
import { parseTarget } from "./target.js";

describe("parseTarget", () => {
  it.each([
    ["/", "/"],
    ["/latest/meta-data/", "/latest/meta-data"],
    ["/latest/meta-data", "/latest/meta-data"],
    ["/latest/meta-data/placement/availability-zone/", "/latest/meta-data/placement/availability-zone"],
    ["/latest/meta-data/iam/info?x=1", "/latest/meta-data/iam/info"],
    ["/v1/credentials", "/v1/credentials"],
    // Escapes are decoded one segment at a time: a legal encoding of a legal name still matches.
    [
      "/latest/meta-data/iam/security-credentials/my%2Drole",
      "/latest/meta-data/iam/security-credentials/my-role",
    ],
    ["/a/b@c=d,e+f", "/a/b@c=d,e+f"],
  ])("accepts %s as %s", (raw, path) => {
    const t = parseTarget(raw);
    expect(t).toMatchObject({ ok: true, path });
  });

  it.each([
    ["http://169.254.169.254/latest/meta-data/", "absolute form"],
    ["*", "asterisk form"],
    ["", "empty"],
    ["/latest/meta-data/../meta-data/", "dot-dot"],
    ["/latest/./meta-data/", "dot"],
    ["/latest/meta-data/%2e%2e/", "encoded dot-dot"],
    ["/latest/meta-data/%2E/", "encoded dot"],
    ["/latest/meta-data/iam%2Fsecurity-credentials/", "encoded slash"],
    ["/latest/meta-data/iam%2fsecurity-credentials/", "encoded slash, lower case"],
    ["/latest/meta-data/iam%5Csecurity-credentials/", "encoded backslash"],
    ["/latest\\meta-data/", "backslash"],
    ["/latest//meta-data/", "empty segment"],
    ["/latest/meta-data//", "two trailing slashes"],
    ["/latest/meta-data/%zz", "malformed escape"],
    ["/latest/meta-data/%", "truncated escape"],
    ["/latest/meta-data/role%00", "encoded NUL"],
    ["/latest/meta-data/role%0d%0aX-Injected:1", "encoded CRLF"],
    ["/latest/meta-data/#frag", "fragment"],
  ])("refuses %s (%s)", (raw) => {
    expect(parseTarget(raw).ok).toBe(false);
  });
});
