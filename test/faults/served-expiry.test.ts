import { refreshing } from "@credbridge/core";
import { startStsEmulator } from "@credbridge/emulators";
import { createContainerCredentialsServer, createImdsServer } from "@credbridge/imds-shim";
import type { AwsCredentialIdentity } from "@smithy/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMDS_TOKEN_HEADER, imdsToken } from "../support/imds.js";
import { tempDir } from "../support/tmp.js";
import { manualClock, memoryLogger, webIdentity, writeToken } from "./support.js";

/**
 * The servers' promise to their clients (boto stretches IMDS expirations; the
 * SDKs cache until expiry): credentials with less than the margin left are never
 * handed out, whatever the source returns, and a slow STS does not stall clients
 * whose own timeouts are a second.
 */
const MIN = 60_000;
const TOKEN = "served-expiry-token";

const imdsCredentials = async (base: string) => {
  const res = await fetch(`${base}/latest/meta-data/iam/security-credentials/app`, {
    headers: { [IMDS_TOKEN_HEADER]: await imdsToken(base) },
  });
  return { status: res.status, text: await res.text() };
};

const containerCredentials = async (url: string) => {
  const res = await fetch(url, { headers: { authorization: TOKEN } });
  return { status: res.status, text: await res.text() };
};

const both = async (provider: () => Promise<AwsCredentialIdentity>) => {
  const log = memoryLogger();
  const imds = createImdsServer({ provider, roleName: "app", logger: log.logger });
  const container = createContainerCredentialsServer({ provider, authToken: TOKEN, logger: log.logger });
  const [a, b] = await Promise.all([imds.listen(), container.listen()]);
  return {
    log,
    imds: () => imdsCredentials(a.url),
    container: () => containerCredentials(b.url),
    close: () => Promise.all([imds.close(), container.close()]),
  };
};

const expiringIn = (ms: number) => async (): Promise<AwsCredentialIdentity> => ({
  accessKeyId: "ASIASHORTLIVED000001",
  secretAccessKey: "short-secret",
  sessionToken: "short-token",
  expiration: new Date(Date.now() + ms),
});

describe("credentials too close to expiry for the servers' margin", () => {
  for (const [name, ms] of [
    ["already expired", -MIN],
    ["10 minutes left, under the 15 minute margin", 10 * MIN],
  ] as const) {
    it(`${name}: IMDS and the container endpoint answer 500 without credentials, and say why`, async () => {
      const s = await both(expiringIn(ms));
      try {
        for (const answer of [await s.imds(), await s.container()]) {
          expect(answer.status).toBe(500);
          expect(answer.text).not.toContain("ASIASHORTLIVED000001");
          expect(answer.text).not.toContain("short-secret");
        }
        const warnings = s.log.lines.filter((l) => l.level === "warn").map((l) => l.text);
        expect(warnings.some((w) => /less than the required 900 s|less than the 900 s/.test(w))).toBe(true);
      } finally {
        await s.close();
      }
    });
  }

  it("16 minutes left: served, and the served expiration keeps the margin", async () => {
    const s = await both(expiringIn(16 * MIN));
    try {
      const answer = await s.imds();
      expect(answer.status).toBe(200);
      const doc = JSON.parse(answer.text) as { Expiration: string; AccessKeyId: string };
      expect(doc.AccessKeyId).toBe("ASIASHORTLIVED000001");
      expect(Date.parse(doc.Expiration) - Date.now()).toBeGreaterThan(15 * MIN);
      expect((await s.container()).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe("STS hanging while IMDS clients ask (manual clock)", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    tmp = await tempDir("credbridge-faults-served-");
  });
  afterAll(() => tmp.cleanup());

  /** STS on a manual clock, and the engine serve builds over it (the servers' windows). */
  const stsAndEngine = async (name: string, requestTimeoutMs: number) => {
    const clock = manualClock();
    const sts = await startStsEmulator({ now: clock.now });
    await writeToken(tmp.path(name), clock.now);
    const engine = refreshing(webIdentity(sts.url, tmp.path(name), { requestTimeoutMs }), {
      minRemainingSeconds: 900,
      mandatoryWindowSeconds: 960,
      advisoryWindowSeconds: 1_200,
      runtime: { now: clock.now, setTimer: clock.setTimer, random: () => 0.5 },
    });
    return { clock, sts, engine };
  };

  it("inside the background-refresh window, IMDS answers from cache at once while the refresh hangs", async () => {
    const { clock, sts, engine } = await stsAndEngine("token", 3_000);
    const imds = createImdsServer({ provider: engine, roleName: "app", runtime: { now: clock.now } });
    const { url } = await imds.listen();
    try {
      const first = await engine();
      clock.set(first.expiration!.getTime() - 18 * MIN); // advisory, not yet mandatory
      sts.hang(); // the background refresh never gets an answer
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        const answer = await imdsCredentials(url);
        expect(performance.now() - started).toBeLessThan(1_000); // the SDKs give up after 1 s
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.text).AccessKeyId).toBe(first.accessKeyId);
      }
      expect(sts.calls.filter((c) => c.fault === "hang")).toHaveLength(1); // one background refresh, shared
    } finally {
      await imds.close();
      await sts.close();
    }
  });

  it("inside the mandatory window, with STS hung, IMDS and the container endpoint still answer from cache at once", async () => {
    const { clock, sts, engine } = await stsAndEngine("token-mandatory", 13_000);
    const rt = { now: clock.now };
    const imds = createImdsServer({ provider: engine, roleName: "app", runtime: rt });
    const container = createContainerCredentialsServer({ provider: engine, authToken: TOKEN, runtime: rt });
    const [i, c] = await Promise.all([imds.listen(), container.listen()]);
    try {
      const first = await engine();
      clock.set(first.expiration!.getTime() - 15.5 * MIN); // mandatory window: 30 s of margin left to serve
      sts.hang();
      for (let n = 0; n < 10; n++) {
        for (const ask of [() => imdsCredentials(i.url), () => containerCredentials(c.url)]) {
          const started = performance.now();
          const answer = await ask();
          expect(performance.now() - started).toBeLessThan(1_000); // the SDKs give up after 1 s
          expect(answer.status).toBe(200);
          expect(JSON.parse(answer.text).AccessKeyId).toBe(first.accessKeyId);
        }
      }
      expect(sts.calls.filter((call) => call.fault === "hang")).toHaveLength(1); // one background refresh
    } finally {
      await Promise.all([imds.close(), container.close()]);
      await sts.close();
    }
  });

  it("with nothing servable and STS hung, a request gets EC2's error within the wait bound, not after STS's time-out", async () => {
    const { clock, sts, engine } = await stsAndEngine("token-empty", 13_000);
    const imds = createImdsServer({ provider: engine, roleName: "app", runtime: { now: clock.now } });
    const { url } = await imds.listen();
    try {
      sts.hang();
      const started = performance.now();
      const answer = await imdsCredentials(url);
      const waited = performance.now() - started;
      expect(answer.status).toBe(500);
      expect(answer.text).toContain("500 - Internal Server Error");
      expect(waited).toBeGreaterThanOrEqual(400); // it did wait for the refresh, up to the bound (500 ms)
      expect(waited).toBeLessThan(1_000); // and answered before the SDKs' 1 s time-out
    } finally {
      await imds.close();
      await sts.close();
    }
  });
});
