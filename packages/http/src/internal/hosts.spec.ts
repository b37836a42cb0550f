import { describe, expect, it } from "vitest";
import { createHostCheck, parseHostHeader } from "./hosts.js";

describe("parseHostHeader", () => {
  it.each([
    ["127.0.0.1:8080", { name: "127.0.0.1", port: 8080 }],
    ["LOCALHOST:8080", { name: "localhost", port: 8080 }],
    ["169.254.169.254", { name: "169.254.169.254", port: 80 }],
    ["[::1]:9000", { name: "[::1]", port: 9000 }],
    ["[fd00:ec2::254]", { name: "[fd00:ec2::254]", port: 80 }],
  ])("%s", (value, parsed) => {
    expect(parseHostHeader(value)).toEqual(parsed);
  });

  it.each(["", ":80", "[::1", "a:b", "a:99999", "a:80:80", "[]:80", "a:"])("refuses %j", (value) => {
    expect(parseHostHeader(value)).toBeUndefined();
  });
});

describe("createHostCheck", () => {
  const imdsWellKnown = ["169.254.169.254", "[fd00:ec2::254]"];

  it("on loopback accepts the bound address and localhost on the bound port, and the well-known address", () => {
    const ok = createHostCheck({
      boundAddress: "127.0.0.1",
      port: 8123,
      wellKnown: imdsWellKnown,
      allowedHosts: [],
    });
    for (const h of [
      "127.0.0.1:8123",
      "localhost:8123",
      "LocalHost:8123",
      "169.254.169.254",
      "169.254.169.254:80",
    ]) {
      expect(ok(h), h).toBe(true);
    }
    expect(ok("169.254.169.254:8123")).toBe(true);
    for (const h of [
      undefined,
      "",
      "evil.example:8123",
      "evil.example",
      "127.0.0.1:8124",
      "localhost",
      "127.0.0.1",
      "169.254.169.254:8080",
      "169.254.170.2",
      "10.0.0.1:8123",
      "localhost.:8123",
    ]) {
      expect(ok(h), String(h)).toBe(false);
    }
  });

  it("on a wildcard bind accepts any IP literal but no other name", () => {
    const ok = createHostCheck({
      boundAddress: "0.0.0.0",
      port: 80,
      wellKnown: imdsWellKnown,
      allowedHosts: [],
    });
    expect(ok("10.1.2.3")).toBe(true);
    expect(ok("10.1.2.3:9999")).toBe(true);
    expect(ok("[fe80::1]:80")).toBe(true);
    expect(ok("localhost")).toBe(true);
    expect(ok("rebind.attacker.example")).toBe(false);
  });

  it("adds allowedHosts: a bare name for any port, name:port for that port", () => {
    const ok = createHostCheck({
      boundAddress: "127.0.0.1",
      port: 8123,
      wellKnown: [],
      allowedHosts: ["metadata.internal", "shim.svc:9000", "[::1]:7000"],
    });
    expect(ok("metadata.internal")).toBe(true);
    expect(ok("metadata.internal:1234")).toBe(true);
    expect(ok("shim.svc:9000")).toBe(true);
    expect(ok("shim.svc:9001")).toBe(false);
    expect(ok("shim.svc")).toBe(false);
    expect(ok("[::1]:7000")).toBe(true);
  });

  it("matches a certificate's wildcard name as RFC 6125 does: one left-most label, any port", () => {
    const ok = createHostCheck({
      boundAddress: "0.0.0.0",
      port: 8443,
      wellKnown: [],
      allowedHosts: ["*.credbridge.svc", "credbridge-webhook.credbridge.svc.cluster.local"],
    });
    for (const h of [
      "credbridge-webhook.credbridge.svc",
      "credbridge-webhook.credbridge.svc:443",
      "CREDBRIDGE-WEBHOOK.Credbridge.SVC:443",
      "credbridge-webhook.credbridge.svc.cluster.local:443",
    ]) {
      expect(ok(h), h).toBe(true);
    }
    for (const h of [
      "credbridge.svc:443",
      ".credbridge.svc",
      "a.credbridge-webhook.credbridge.svc",
      "evil.example",
      "credbridge-webhook.credbridge.svc.evil.example",
      "x.cluster.local",
    ]) {
      expect(ok(h), h).toBe(false);
    }
  });

  it("ignores a wildcard over a single label, and accepts anything for `*`", () => {
    const tld = createHostCheck({
      boundAddress: "127.0.0.1",
      port: 1,
      wellKnown: [],
      allowedHosts: ["*.svc", "*"],
    });
    expect(tld("rebind.attacker.example")).toBe(true);
    const only = createHostCheck({
      boundAddress: "127.0.0.1",
      port: 1,
      wellKnown: [],
      allowedHosts: ["*.svc"],
    });
    expect(only("credbridge.svc")).toBe(false);
  });

  it("keeps its verdict memo bounded when a client cycles through Host values", () => {
    const ok = createHostCheck({ boundAddress: "127.0.0.1", port: 1, wellKnown: [], allowedHosts: [] });
    for (let i = 0; i < 10_000; i++) expect(ok(`h${i}.example`)).toBe(false);
    expect(ok("127.0.0.1:1")).toBe(true);
  });
});
