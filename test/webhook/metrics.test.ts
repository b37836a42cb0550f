/**
 * `credbridge webhook --metrics`: a plain-HTTP listener of its own beside the
 * HTTPS port, with reviews counted by outcome, their latency, the serving
 * certificate's dates and reloads — driven by real calls as the API server
 * makes them and a real rotation of the Secret volume, and linted by promtool.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, listeningUrl, startCli } from "../support/cli.js";
import { makeCa, SERVICE_HOST, secretVolume } from "../support/pki.js";
import { lintMetrics } from "../support/promtool.js";
import { tempDir } from "../support/tmp.js";
import { admissionReview, callWebhook, webhookArgs } from "./support/admission.js";
import { DEFAULTS, FIXTURES, readPod } from "./support/pods.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let ca: Awaited<ReturnType<typeof makeCa>>;
let volume: Awaited<ReturnType<typeof secretVolume>>;
let webhook: ReturnType<typeof startCli>;
let port: number;
let metricsUrl: string;
let firstCert: string;

const call = (body: unknown, options: Parameters<typeof callWebhook>[3] = {}) =>
  callWebhook(port, ca.caBundle, typeof body === "string" ? body : JSON.stringify(body), options);
const scrape = async () => {
  const res = await fetch(`${metricsUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
};
const value = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

beforeAll(async () => {
  tmp = await tempDir("credbridge-webhook-metrics-");
  ca = await makeCa(tmp.path("ca"));
  volume = await secretVolume(tmp.path("serving-cert"));
  const first = await ca.issue([SERVICE_HOST, "127.0.0.1"]);
  firstCert = first.cert;
  await volume.write({ "tls.crt": first.cert, "tls.key": first.key });
  webhook = startCli(
    [...webhookArgs(volume), "--metrics", "127.0.0.1:0"],
    cleanEnv(tmp.dir, { CREDBRIDGE_ADDRESS_IMAGE: DEFAULTS.addressImage }),
  );
  port = Number(new URL(String((await webhook.waitFor((l) => l.msg === "webhook listening")).url)).port);
  metricsUrl = await listeningUrl(webhook, "metrics");
});

afterAll(async () => {
  expect((await webhook?.stop())?.code).toBe(0);
  await tmp?.cleanup();
});

describe("credbridge webhook --metrics", () => {
  it("listens over plain HTTP on its own port, with the probes there, and nothing of it on the HTTPS port", async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(metricsUrl).port)).not.toBe(port);
    const ready = await fetch(`${metricsUrl}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, "ready\n"]);
    expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(200);
    // Reviews only on the API server's port; metrics only on Prometheus's.
    expect((await fetch(`${metricsUrl}/mutate`, { method: "POST", body: "{}" })).status).toBe(405);
    expect((await call("", { method: "GET", path: "/metrics" })).status).toBe(404);
  });

  it("counts reviews by outcome and times each, and exposes the serving certificate's dates", async () => {
    const harbor = readPod(`${FIXTURES}/harbor-registry-irsa.pod.yaml`);
    const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: {} };
    const replies = [
      await call(admissionReview(harbor)), // mutated
      await call(admissionReview(readPod(`${FIXTURES}/no-annotation.pod.yaml`))), // allowed
      await call(admissionReview(configMap, { group: "", version: "v1", kind: "ConfigMap" }, "configmaps")), // allowed
      await call(admissionReview(readPod(`${FIXTURES}/bad-outputs.pod.yaml`))), // denied
      await call("{"), // error: malformed, 400
      await call("", { headers: { "content-length": String(4 * 1024 * 1024) } }), // error: too large, 413
    ];
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 400, 413]);
    // Not reviews: a GET of the review path, a POST to no route, the kubelet's probes.
    expect((await call("", { method: "GET" })).status).toBe(405);
    expect((await call("{}", { path: "/elsewhere" })).status).toBe(404);
    expect((await call("", { method: "GET", path: "/readyz" })).status).toBe(200);

    const text = await scrape();
    expect(value(text, 'credbridge_webhook_reviews_total{outcome="mutated"}')).toBe(1);
    expect(value(text, 'credbridge_webhook_reviews_total{outcome="allowed"}')).toBe(2);
    expect(value(text, 'credbridge_webhook_reviews_total{outcome="denied"}')).toBe(1);
    expect(value(text, 'credbridge_webhook_reviews_total{outcome="error"}')).toBe(2);
    expect(value(text, "credbridge_webhook_review_duration_seconds_count")).toBe(6);
    expect(value(text, 'credbridge_webhook_review_duration_seconds_bucket{le="+Inf"}')).toBe(6);
    const x509 = new X509Certificate(firstCert);
    expect(value(text, "credbridge_webhook_certificate_expiration_timestamp_seconds")).toBe(
      Date.parse(x509.validTo) / 1000,
    );
    expect(value(text, "credbridge_webhook_certificate_not_before_timestamp_seconds")).toBe(
      Date.parse(x509.validFrom) / 1000,
    );
    expect(value(text, 'credbridge_requests_total{server="webhook",path="/mutate",status="200"}')).toBe(4);
    expect(text).toMatch(/^credbridge_build_info\{version="[^"]+",node="[^"]+",command="webhook"\} 1$/m);
    expect(await lintMetrics(text)).toBe("");
  });

  it("counts no request as a review that the server refused before routing it or routed elsewhere: a foreign Host, a bad target, another path", async () => {
    const reviews = async () => {
      const text = await scrape();
      return {
        outcomes: [...text.matchAll(/^credbridge_webhook_reviews_total\{outcome="(\w+)"\} (\d+)$/gm)].map(
          (m) => `${m[1]} ${m[2]}`,
        ),
        timed: value(text, "credbridge_webhook_review_duration_seconds_count"),
        refused:
          value(text, 'credbridge_requests_total{server="webhook",path="rejected-host",status="403"}') ?? 0,
      };
    };
    const before = await reviews();
    const notReviews = [
      await call("{}", { path: "/healthz", host: "evil.example" }),
      await call("{}", { host: "evil.example" }), // /mutate itself, for a name not the webhook's
      await call("{}", { path: "/anything-at-all", host: "evil.example" }),
      await call("{}", { path: "/%zz" }),
      await call("{}", { path: "/healthz" }),
    ];
    expect(notReviews.map((r) => r.status)).toEqual([403, 403, 403, 400, 404]);
    const after = await reviews();
    expect(after.outcomes).toEqual(before.outcomes);
    expect(after.timed).toBe(before.timed);
    // Each was answered and counted as a request, by the route the core gave it.
    expect(after.refused - before.refused).toBe(3);
  });

  it("counts a rotation it could not take and the one it took", async () => {
    const next = await ca.issue([SERVICE_HOST, "127.0.0.1"]);
    const other = await ca.issue([SERVICE_HOST, "127.0.0.1"]);
    await volume.write({ "tls.crt": next.cert, "tls.key": other.key });
    await webhook.waitFor((l) => l.msg === "serving certificate not reloaded; keeping the previous one");
    let text = await scrape();
    expect(value(text, "credbridge_webhook_certificate_reload_failures_total")).toBeGreaterThanOrEqual(1);
    expect(value(text, "credbridge_webhook_certificate_reloads_total")).toBe(0);
    await volume.write({ "tls.crt": next.cert, "tls.key": next.key });
    await webhook.waitFor((l) => l.msg === "serving certificate reloaded");
    text = await scrape();
    expect(value(text, "credbridge_webhook_certificate_reloads_total")).toBe(1);
    expect(value(text, "credbridge_webhook_certificate_expiration_timestamp_seconds")).toBe(
      Date.parse(new X509Certificate(next.cert).validTo) / 1000,
    );
  });
});
