import type { RefreshingProvider } from "@credbridge/core";
import type { RequestInfo } from "@credbridge/http";
import { describe, expect, it } from "vitest";
import { createMetrics } from "./metrics.js";

const engine = {
  state: () => ({ status: "fresh", expiration: new Date(3_600_000) }),
} as unknown as RefreshingProvider;

const request = (server: RequestInfo["server"], path: string, status: number): RequestInfo => ({
  server,
  method: "GET",
  path,
  status,
  durationMs: 0.1,
});

const counted = (text: string): Record<string, number> =>
  Object.fromEntries(
    [...text.matchAll(/^credbridge_requests_total\{(.*)\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
  );

describe("request counters", () => {
  it("count every request under its server, route and status, however the requests interleave", () => {
    const metrics = createMetrics(engine, () => 0);
    const sequence: RequestInfo[] = [
      request("imds", "/latest/api/token", 200),
      request("imds", "/latest/meta-data/iam/security-credentials/{role}", 200),
      request("imds", "/latest/meta-data/iam/security-credentials/{role}", 200),
      request("container", "/v1/credentials", 200),
      request("imds", "/latest/meta-data/iam/security-credentials/{role}", 200),
      request("container", "/v1/credentials", 403),
      request("container", "/v1/credentials", 200),
      request("container", "/v1/credentials", 200),
      request("imds", "/latest/meta-data/iam/security-credentials/{role}", 401),
      request("imds", "/latest/meta-data/iam/security-credentials/{role}", 200),
      request("webhook", 'a "quoted"\\path', 200),
    ];
    for (const r of sequence) metrics.onRequest(r);
    expect(counted(metrics.render())).toEqual({
      'server="imds",path="/latest/api/token",status="200"': 1,
      'server="imds",path="/latest/meta-data/iam/security-credentials/{role}",status="200"': 4,
      'server="container",path="/v1/credentials",status="200"': 3,
      'server="container",path="/v1/credentials",status="403"': 1,
      'server="imds",path="/latest/meta-data/iam/security-credentials/{role}",status="401"': 1,
      'server="webhook",path="a \\"quoted\\"\\\\path",status="200"': 1,
    });
  });
});
