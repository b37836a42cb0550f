import { readFile } from "node:fs/promises";
import { fromIni } from "@aws-sdk/credential-provider-ini";
import { main } from "@credbridge/cli";
import { manualRuntime } from "@credbridge/core/testing";
import { type StsEmulator, startStsEmulator } from "@credbridge/emulators";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { writeToken } from "../faults/support.js";
import { cleanEnv, listeningUrl, startCli } from "../support/cli.js";
import { IMDS_TOKEN_HEADER, imdsToken } from "../support/imds.js";
import { APP_ROLE, irsaFixture } from "../support/irsa.js";
import { tempDir } from "../support/tmp.js";

const MIN = 60_000;

/** The refresh path of `serve` under a slow STS and a moving wall clock, end to end. */
let fx: Awaited<ReturnType<typeof irsaFixture>>;
beforeAll(async () => {
  fx = await irsaFixture();
});
afterAll(() => fx.close());
afterEach(() => fx.sts.reset());

const imdsKey = async (base: string): Promise<string> => {
  const headers = { [IMDS_TOKEN_HEADER]: await imdsToken(base) };
  const role = await (await fetch(`${base}/latest/meta-data/iam/security-credentials/`, { headers })).text();
  const res = await fetch(`${base}/latest/meta-data/iam/security-credentials/${role}`, { headers });
  expect(res.status).toBe(200);
  return ((await res.json()) as { AccessKeyId: string }).AccessKeyId;
};

describe("serve against an STS whose answer trickles in", () => {
  it("gives up on the trickling refresh at the refresh timeout, retries with backoff, and serves new credentials as soon as STS answers", async () => {
    // A refresh may take 2 s here (60 s by default): the test need not wait a minute.
    const cli = startCli(
      ["serve", "--imds", "127.0.0.1:0", "--metrics", "127.0.0.1:0"],
      fx.env({ CREDBRIDGE_REFRESH_TIMEOUT: "2" }),
    );
    try {
      const imds = await listeningUrl(cli, "imds");
      const metrics = await listeningUrl(cli, "metrics");
      expect(await imdsKey(imds)).toBe(fx.sts.issued[0]!.accessKeyId);

      // One answer sends its headers, then a byte every 500 ms: no idle timeout ever trips.
      fx.sts.trickle({ intervalMs: 500 });
      cli.child.kill("SIGHUP");
      const failed = await cli.waitFor((l) => /did not return within 2 s/.test(String(l.msg)), 20_000);
      expect(failed.level).toBe("warn"); // still-valid credentials keep being served meanwhile
      expect(await imdsKey(imds)).toBe(fx.sts.issued[0]!.accessKeyId);
      expect((await fetch(`${metrics}/healthz`)).status).toBe(200);

      // STS answers normally again: the engine's own retry (no signal, no request) gets through.
      await cli.waitFor((l) => l.msg === "credentials refreshed" && l.reason === "scheduled", 20_000);
      expect(fx.sts.calls.map((c) => c.fault ?? "ok")).toEqual(["ok", "trickle", "ok"]);
      expect(await imdsKey(imds)).toBe(fx.sts.issued[1]!.accessKeyId);
      expect((await fetch(`${metrics}/readyz`)).status).toBe(200);
      expect((await fetch(`${metrics}/healthz`)).status).toBe(200);
    } finally {
      await cli.stop();
    }
  });

  it("refuses a --refresh-timeout that is not positive", async () => {
    const cli = startCli(["serve", "--imds", "127.0.0.1:0", "--refresh-timeout", "0"], fx.env());
    expect((await cli.exited).code).toBe(2);
    expect(cli.lines.join("\n")).toMatch(/--refresh-timeout must be a positive number of seconds/);
    expect(fx.sts.calls).toHaveLength(0);
  });

  it("refuses a --refresh-timeout a background refresh could not finish within before the sidecar turns unready", async () => {
    const cli = startCli(
      ["serve", "--imds", "127.0.0.1:0", "--min-remaining", "900", "--refresh-timeout", "300"],
      fx.env(),
    );
    expect((await cli.exited).code).toBe(2);
    expect(cli.lines.join("\n")).toMatch(
      /--refresh-timeout 300 is longer than a refresh can take before the sidecar turns unready: with --min-remaining 900, .* Give --refresh-timeout at most 180\./,
    );
    expect(fx.sts.calls).toHaveLength(0);
  });
});

/** `serve` in this process, on `fake`'s clocks, with IRSA from `tokenFile` against `sts`; its log lines in `log`. */
const serveInProcess = (
  argv: string[],
  o: { fake: ReturnType<typeof manualRuntime>; sts: StsEmulator; home: string; tokenFile: string },
) => {
  const stop = new AbortController();
  const log: string[] = [];
  const exited = main({
    argv: ["serve", ...argv],
    env: cleanEnv(o.home, {
      AWS_ROLE_ARN: APP_ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: o.tokenFile,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_STS: o.sts.url,
    }),
    stdout: () => {},
    stderr: (text) => log.push(text),
    clock: o.fake.runtime,
    stopSignal: stop.signal,
  });
  return { log, exited, stop: () => stop.abort("SIGTERM") };
};

describe("serve after the wall clock jumps while its timers stand still (a suspended VM)", () => {
  let sts: StsEmulator;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  // One wall clock for STS and serve; serve's timers on the same injected clock, moved by the test.
  const fake = manualRuntime({ start: Date.now(), sleep: "timers" });
  beforeAll(async () => {
    sts = await startStsEmulator({ now: fake.now });
    tmp = await tempDir("credbridge-serve-clock-");
  });
  afterAll(async () => {
    await sts.close();
    await tmp.cleanup();
  });

  it("a file-only serve rewrites the file within one wall-clock check of resuming, with nobody asking", async () => {
    const tokenFile = tmp.path("token");
    await writeToken(tokenFile, fake.now);
    const file = tmp.path("clock", "credentials");
    const { log, exited, stop } = serveInProcess(["--credentials-file", file, "--min-remaining", "300"], {
      fake,
      sts,
      home: tmp.dir,
      tokenFile,
    });
    const key = async () =>
      (
        await fromIni({ filepath: file, configFilepath: tmp.path("none"), ignoreCache: true })().catch(
          () => undefined,
        )
      )?.accessKeyId;
    /** Whether the file holds the n-th set STS issued. */
    const holds = (n: number) => async () => {
      const issued = sts.issued[n]?.accessKeyId;
      return issued !== undefined && (await key()) === issued;
    };
    try {
      await expect.poll(holds(0), { timeout: 15_000 }).toBe(true);
      // STS's expirations are whole seconds.
      expect(fake.now() + 60 * MIN - sts.issued[0]!.expiration.getTime()).toBeLessThan(1_000);

      // Suspended for 56 minutes: 4 minutes left, inside the 5-minute margin. No timer moved.
      fake.jump(56 * MIN);
      expect(sts.calls).toHaveLength(1);
      // The first wall-clock check after resuming, 10 s on the timers' clock.
      await fake.advance(10_000);
      await expect.poll(holds(1), { timeout: 15_000 }).toBe(true);
      expect(fake.now() + 60 * MIN - sts.issued[1]!.expiration.getTime()).toBeLessThan(1_000);
      expect(sts.calls).toHaveLength(2);
    } finally {
      stop();
      expect(await exited, log.join("")).toBe(0);
    }
    expect(log.join("")).toMatch(/"msg":"credentials refreshed","reason":"scheduled"/);
    expect(await readFile(file, "utf8")).not.toContain(sts.issued[0]!.accessKeyId);
  });
});

describe("serve after the wall clock steps back (NTP correcting a host that booted ahead)", () => {
  let sts: StsEmulator;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  // The true time, which STS keeps; the host's wall clock starts 70 minutes ahead of it.
  const base = Date.now();
  const fake = manualRuntime({ start: base + 70 * MIN, sleep: "timers" });
  const truth = () => base + fake.runtime.monotonicNow();
  beforeAll(async () => {
    sts = await startStsEmulator({ now: truth });
    tmp = await tempDir("credbridge-serve-stepback-");
  });
  afterAll(async () => {
    await sts.close();
    await tmp.cleanup();
  });

  it("retries within its backoff once the clock is right, not after the length of the step", async () => {
    const tokenFile = tmp.path("token");
    await writeToken(tokenFile, truth);
    const file = tmp.path("stepback", "credentials");
    const { log, exited, stop } = serveInProcess(["--credentials-file", file, "--min-remaining", "300"], {
      fake,
      sts,
      home: tmp.dir,
      tokenFile,
    });
    const written = async () => (await readFile(file, "utf8").catch(() => "")).includes("aws_access_key_id");
    try {
      // An hour's session looks expired on a clock 70 minutes ahead: refused, retried with backoff.
      await expect.poll(() => log.join(""), { timeout: 15_000 }).toMatch(/initial credentials unavailable/);
      await vi.waitFor(
        async () => {
          await fake.advance(200);
          expect(sts.calls.filter((c) => c.status === 200)).toHaveLength(2);
        },
        { timeout: 15_000, interval: 20 },
      );
      const failedCalls = sts.calls.length;
      expect(await written()).toBe(false);

      // NTP steps the wall clock back to the truth; the timers' clock goes on as it was.
      fake.jump(-70 * MIN);
      // Its backoff has at most a few seconds to run (on the timers' clock), not 70 minutes.
      await vi.waitFor(
        async () => {
          if (fake.runtime.monotonicNow() < 60_000) await fake.advance(200);
          expect(await written()).toBe(true);
        },
        { timeout: 15_000, interval: 20 },
      );
      expect(sts.calls.length).toBeGreaterThan(failedCalls);
    } finally {
      stop();
      expect(await exited, log.join("")).toBe(0);
    }
  });
});
