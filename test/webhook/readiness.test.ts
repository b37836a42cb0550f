/**
 * /readyz follows the serving certificate: once it has expired, the API server
 * could not verify the webhook, so the pod reports not ready (and /healthz,
 * which only says the process answers, stays 200). The server runs in process
 * with an injected clock; the certificate is a real one made by openssl.
 */
import { writeFile } from "node:fs/promises";
import { createWebhookServer } from "@credbridge/cli";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeCa, SERVICE_HOST } from "../support/pki.js";
import { tempDir } from "../support/tmp.js";
import { callWebhook } from "./support/admission.js";
import { DEFAULTS } from "./support/pods.js";

const DAY_MS = 86_400_000;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir("credbridge-webhook-readiness-");
});
afterAll(() => tmp?.cleanup());

it("reports ready while the serving certificate is valid, not ready once it has expired", async () => {
  const ca = await makeCa(tmp.path("ca"));
  const pair = await ca.issue([SERVICE_HOST]);
  await writeFile(tmp.path("tls.crt"), pair.cert);
  await writeFile(tmp.path("tls.key"), pair.key);
  let now = Date.now();
  const lines: string[] = [];
  const log = (level: string, msg: string, fields?: Record<string, unknown>) =>
    lines.push(JSON.stringify({ level, msg, ...fields }));
  const server = createWebhookServer({
    host: "127.0.0.1",
    port: 0,
    certFile: tmp.path("tls.crt"),
    keyFile: tmp.path("tls.key"),
    defaults: DEFAULTS,
    now: () => now,
    logger: {
      log,
      debug: (m: string) => log("debug", m),
      info: (m: string) => log("info", m),
      warn: (m: string) => log("warn", m),
      error: (m: string) => log("error", m),
    },
  });
  const { port } = await server.listen();
  try {
    const get = async (path: string) =>
      (await callWebhook(port, ca.caBundle, "", { method: "GET", path })).status;
    expect(await get("/readyz")).toBe(200);
    now += 2 * DAY_MS; // the certificate was issued for one day
    expect(await get("/readyz")).toBe(503);
    expect(await get("/healthz")).toBe(200);
  } finally {
    await server.close();
  }
});
