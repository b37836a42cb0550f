import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RefreshingProvider, refreshing } from "@credbridge/core";
import { manualRuntime } from "@credbridge/core/testing";
import type { RequestInfo } from "@credbridge/http";
import type { AwsCredentialIdentity } from "@smithy/types";
import { describe, expect, it } from "vitest";
import { createMetrics } from "./metrics.js";
import { startMetricsServer } from "./metrics-server.js";

/** An engine that has fetched nothing yet, on a manual clock. */
const idleEngine = () =>
  refreshing(async () => ({ accessKeyId: "ASIA", secretAccessKey: "s" }), {
    runtime: manualRuntime().runtime,
  });

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
    const metrics = createMetrics(idleEngine(), { minRemainingSeconds: 900 });
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

describe("serve's scrape", () => {
  it("has exactly these families, each with HELP and TYPE, and credbridge_ready following /readyz", async () => {
    const engine = idleEngine();
    const metrics = createMetrics(engine, { minRemainingSeconds: 900 });
    const types = (text: string) =>
      Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    expect(types(metrics.render())).toEqual({
      credbridge_build_info: "gauge",
      credbridge_ready: "gauge",
      credbridge_credentials_expiration_timestamp_seconds: "gauge",
      credbridge_mandatory_window_seconds: "gauge",
      credbridge_min_remaining_seconds: "gauge",
      credbridge_refresh_timeout_seconds: "gauge",
      credbridge_refreshes_total: "counter",
      credbridge_refresh_failures_total: "counter",
      credbridge_refresh_duration_seconds: "histogram",
      credbridge_refresh_consecutive_failures: "gauge",
      credbridge_refresh_failing_seconds: "gauge",
      credbridge_refresh_last_error_info: "gauge",
      credbridge_refresh_last_success_timestamp_seconds: "gauge",
      credbridge_requests_total: "counter",
    });
    expect(metrics.render()).toMatch(/^credbridge_ready 0$/m);
    await engine();
    expect(metrics.ready().ok).toBe(true);
    expect(metrics.render()).toMatch(/^credbridge_ready 1$/m);
    expect(metrics.render()).toMatch(
      /^credbridge_build_info\{version="\d+\.\d+\.\d+[^"]*",node="[\d.]+",command="serve"\} 1$/m,
    );
  });
});

describe("the probes over HTTP", () => {
  const probe = async (url: string) => {
    const res = await fetch(url);
    return { status: res.status, text: (await res.text()).trim() };
  };

  it("/healthz answers 503 naming the wedge once a refresh attempt outlives its deadline, and 200 before", async () => {
    const fake = manualRuntime();
    // The engine's timers stop running, so the deadline on its hung attempt never frees it.
    const runtime = { ...fake.runtime, setTimer: () => ({ cancel: () => {} }) };
    const wedged = refreshing(() => new Promise<AwsCredentialIdentity>(() => {}), { runtime });
    wedged.start();
    const server = await startMetricsServer(createMetrics(wedged, { minRemainingSeconds: 0 }), {
      host: "127.0.0.1",
      port: 0,
    });
    try {
      expect(await probe(`${server.url}/healthz`)).toEqual({ status: 200, text: "ok" });
      await fake.advance(120_000);
      expect(await probe(`${server.url}/healthz`)).toEqual({
        status: 503,
        text: "refresh engine wedged: an attempt has run 120 s, past its 60 s deadline",
      });
    } finally {
      await server.close();
    }
  });

  it("/readyz reflects the container token file: 503 naming it while it is empty, 200 once it holds a token", async () => {
    const dir = await mkdtemp(join(tmpdir(), "credbridge-readyz-"));
    const fresh = {
      state: () => ({ status: "fresh", expiration: new Date(Date.now() + 3_600_000) }),
    } as unknown as RefreshingProvider;
    const metrics = createMetrics(fresh, { minRemainingSeconds: 0 });
    const token = join(dir, "token");
    await writeFile(token, "");
    metrics.watchTokenFile(token);
    const server = await startMetricsServer(metrics, { host: "127.0.0.1", port: 0 });
    try {
      expect(await probe(`${server.url}/readyz`)).toEqual({
        status: 503,
        text: `the container token file ${token} is empty`,
      });
      await writeFile(token, "a-token");
      expect(await probe(`${server.url}/readyz`)).toEqual({ status: 200, text: "ok" });
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("serve's metrics with named profiles", () => {
  it("labels every engine's series with its profile, and readiness names the profile that cannot serve", async () => {
    const fake = manualRuntime();
    const session = async (): Promise<AwsCredentialIdentity> => ({
      accessKeyId: "ASIA",
      secretAccessKey: "s",
      expiration: new Date(fake.now() + 3_600_000),
    });
    let writerFails = true;
    const main = refreshing(session, { runtime: fake.runtime });
    const writer = refreshing(
      async () => {
        if (writerFails) throw new Error("AccessDenied: the writer role does not trust the pod");
        return session();
      },
      { runtime: fake.runtime },
    );
    const metrics = createMetrics(main, { minRemainingSeconds: 900, profile: "default" });
    main.subscribe(metrics.onRefresh);
    writer.subscribe(metrics.addProfile("writer", writer));
    await main();
    await writer().catch(() => {});
    expect(metrics.ready()).toEqual({
      ok: false,
      reason: expect.stringMatching(/^profile writer: credentials /),
    });
    const text = metrics.render();
    expect(text).toMatch(/^credbridge_refreshes_total\{profile="default"\} 1$/m);
    expect(text).toMatch(/^credbridge_refreshes_total\{profile="writer"\} 0$/m);
    expect(text).toMatch(/^credbridge_refresh_failures_total\{profile="writer",class="[^"]+"\} 1$/m);
    expect(text).toMatch(/^credbridge_ready 0$/m);
    writerFails = false;
    await writer.refresh();
    expect(metrics.ready()).toEqual({ ok: true, reason: "ok" });
    expect(metrics.live()).toEqual({ ok: true, reason: "ok" });
  });
});
