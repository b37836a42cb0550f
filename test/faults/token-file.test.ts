import { execFileSync } from "node:child_process";
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { fromWebIdentity, type RefreshEvent, refreshing } from "@credbridge/core";
import { manualRuntime } from "@credbridge/core/testing";
import { mintWebIdentityToken, type StsEmulator, startStsEmulator } from "@credbridge/emulators";
import type { AwsCredentialIdentity } from "@smithy/types";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { idle, jtiOf, manualClock, ROLE, until, webIdentity, writeToken } from "./support.js";

const MIN = 60_000;

let clock: ReturnType<typeof manualClock>;
let sts: StsEmulator;
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  clock = manualClock();
  sts = await startStsEmulator({ now: clock.now });
  tmp = await tempDir("credbridge-faults-token-");
});
afterAll(async () => {
  await sts.close();
  await tmp.cleanup();
});
afterEach(() => sts.reset());

const engineFor = (tokenFile: string) => {
  const events: RefreshEvent[] = [];
  const engine = refreshing(webIdentity(sts.url, tokenFile), {
    advisoryWindowSeconds: 900,
    mandatoryWindowSeconds: 600,
    minRemainingSeconds: 60,
    observer: (e) => events.push(e),
    runtime: { now: clock.now, setTimer: clock.setTimer, random: () => 0.5 },
  });
  const failures = () =>
    events.filter(
      (e): e is Extract<RefreshEvent, { type: "refresh-failure" }> => e.type === "refresh-failure",
    );
  return { engine, events, failures, settle: () => idle(engine) };
};

type Sample = { at: number; credentials?: AwsCredentialIdentity; error?: Error & { code?: string } };
const sample = async (engine: () => Promise<AwsCredentialIdentity>): Promise<Sample> => {
  const at = clock.now();
  try {
    return { at, credentials: await engine() };
  } catch (error) {
    return { at, error: error as Error };
  }
};

/** Replaces a file the way an atomic writer does: a new inode renamed over the old name. */
const replaceAtomically = async (path: string, text: string) => {
  await writeFile(`${path}.new`, text);
  await rename(`${path}.new`, path);
};

describe("token file deleted, then restored", () => {
  it("serves cached credentials while it is gone, never calls STS without a token, recovers on the new token", async () => {
    const tokenFile = tmp.path("deleted", "token");
    await mkdir(tmp.path("deleted"));
    await writeToken(tokenFile, clock.now, "before");
    const t0 = clock.now();
    const { engine, failures, settle } = engineFor(tokenFile);
    engine.start();
    await settle();
    const first = await engine();
    const usableUntil = first.expiration!.getTime() - MIN;

    await rm(tokenFile);
    const restoreAt = t0 + 70 * MIN; // ten minutes after the cached credentials expired
    const samples: Sample[] = [];
    for (let t = t0 + 30_000; t <= t0 + 90 * MIN; t += 30_000) {
      if (t >= restoreAt && t - 30_000 < restoreAt) await writeToken(tokenFile, clock.now, "restored");
      await clock.advanceTo(t, settle);
      samples.push(await sample(engine));
    }
    engine.stop();

    // No token, no STS call: every failure is the file's, and says what to check.
    const missing = failures().filter((f) => f.at.getTime() < restoreAt);
    expect(missing.length).toBeGreaterThan(5);
    for (const f of missing) {
      expect(f.error).toMatchObject({ code: "ERR_TOKEN_FILE" });
      expect(f.error.message).toContain(`${tokenFile} (tokenFile option): it does not exist`);
      expect(f.error.message).toContain("is the projected token volume mounted?");
    }
    expect(sts.calls.filter((c) => c.at > t0 && c.at < restoreAt)).toEqual([]);

    for (const s of samples.filter((s) => s.at < usableUntil)) expect(s.credentials).toEqual(first);
    const dark = samples.filter((s) => s.at >= usableUntil && s.at < restoreAt);
    expect(dark.length).toBeGreaterThan(10);
    for (const s of dark) {
      expect(s.credentials).toBeUndefined();
      expect(s.error!.message).toMatch(/does not exist/);
    }

    const back = samples.find((s) => s.at >= restoreAt && s.credentials);
    expect(back).toBeDefined();
    expect(back!.at - restoreAt).toBeLessThanOrEqual(5 * MIN); // one capped backoff
    expect(back!.credentials!.accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId);
    expect(jtiOf(sts.calls.at(-1)!.tokenClaims)).toBe("restored");
    expect(engine.state()).toMatchObject({ status: "fresh", consecutiveFailures: 0 });
  });
});

describe("token replaced mid-refresh", () => {
  it("an atomic rename during the STS call: that call completes, the next one carries the new token", async () => {
    const tokenFile = tmp.path("mid-refresh-token");
    await writeToken(tokenFile, clock.now, "first");
    const { engine, failures } = engineFor(tokenFile);
    await engine();

    sts.hang({ ms: 300 });
    const inFlight = engine.refresh();
    await until(() => sts.calls.length === 2 && sts.calls[1]!.status === 0, 5_000, "the STS call to arrive");
    await replaceAtomically(
      tokenFile,
      mintWebIdentityToken({
        now: clock.now,
        exp: Math.floor(clock.now() / 1000) + 86_400,
        sub: "system:serviceaccount:shop:app",
        extra: { jti: "second" },
      }),
    );
    const during = await inFlight;
    expect(during.accessKeyId).toBe(sts.issued[1]!.accessKeyId);
    expect(jtiOf(sts.calls[1]!.tokenClaims)).toBe("first");

    await engine.refresh();
    expect(jtiOf(sts.calls[2]!.tokenClaims)).toBe("second");
    expect(failures()).toEqual([]);
  });

  it("the kubelet's ..data symlink swap during the STS call, old directory removed: no error, new token next", async () => {
    // The layout of a projected volume: token -> ..data/token, ..data -> ..<timestamp>/
    const dir = tmp.path("projected");
    await mkdir(tmp.path("projected", "..v1"), { recursive: true });
    await writeToken(tmp.path("projected", "..v1", "token"), clock.now, "v1");
    await symlink("..v1", tmp.path("projected", "..data"));
    await symlink("..data/token", tmp.path("projected", "token"));
    const { engine, failures } = engineFor(`${dir}/token`);
    await engine();

    sts.hang({ ms: 300 });
    const inFlight = engine.refresh();
    await until(() => sts.calls.length === 2 && sts.calls[1]!.status === 0, 5_000, "the STS call to arrive");
    await mkdir(tmp.path("projected", "..v2"));
    await writeToken(tmp.path("projected", "..v2", "token"), clock.now, "v2");
    await symlink("..v2", tmp.path("projected", "..data_tmp"));
    await rename(tmp.path("projected", "..data_tmp"), tmp.path("projected", "..data"));
    await rm(tmp.path("projected", "..v1"), { recursive: true });
    await inFlight;

    await engine.refresh();
    expect(sts.calls.map((c) => jtiOf(c.tokenClaims))).toEqual(["v1", "v1", "v2"]);
    expect(failures()).toEqual([]);
  });
});

describe("token file caught empty or holding an expired token", () => {
  it("an empty file (caught mid-write) fails the refresh without calling STS; cached credentials are served", async () => {
    const tokenFile = tmp.path("empty-token");
    await writeToken(tokenFile, clock.now, "full");
    const { engine, failures, settle } = engineFor(tokenFile);
    const first = await engine();
    clock.set(first.expiration!.getTime() - 5 * MIN);
    await writeFile(tokenFile, "");
    expect(await engine()).toEqual(first);
    expect(failures().at(-1)!.error).toMatchObject({ code: "ERR_TOKEN_FILE" });
    expect(failures().at(-1)!.error.message).toMatch(
      /is empty: a projected service-account token is written before the pod.s containers start/,
    );
    expect(sts.calls).toHaveLength(1);

    await writeToken(tokenFile, clock.now, "rewritten");
    await clock.advanceTo(clock.now() + 2_000, settle);
    expect((await engine()).accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId);
    expect(jtiOf(sts.calls.at(-1)!.tokenClaims)).toBe("rewritten");
  });

  it("a token the kubelet stopped rotating expires: STS refuses it and the error says to check the rotation", async () => {
    const tokenFile = tmp.path("stale-token");
    await writeFile(
      tokenFile,
      mintWebIdentityToken({
        now: clock.now,
        exp: Math.floor(clock.now() / 1000) + 40 * 60,
        sub: "system:serviceaccount:shop:app",
      }),
    );
    const { engine, failures, settle } = engineFor(tokenFile);
    const first = await engine();
    clock.set(first.expiration!.getTime() - 5 * MIN); // the token died 15 minutes ago
    expect(await engine()).toEqual(first);
    const error = failures().at(-1)!.error;
    expect(error).toMatchObject({ code: "ERR_STS", serviceCode: "ExpiredTokenException" });
    expect(error.message).toMatch(/the kubelet should rotate the projected token file/);

    await writeToken(tokenFile, clock.now, "rotated");
    await clock.advanceTo(clock.now() + 2_000, settle);
    expect((await engine()).accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId);
  });
});

describe("token file that never finishes reading", () => {
  it("a read that never returns (a hung network volume) fails the fetch at the read deadline, without calling STS", async () => {
    const fake = manualRuntime();
    let aborted = false;
    const provider = fromWebIdentity({
      roleArn: ROLE,
      tokenFile: "/mnt/hung-nfs/token",
      region: "us-east-1",
      stsEndpoint: sts.url,
      runtime: {
        ...fake.runtime,
        // What a read on a hung mount does: nothing, until told to stop.
        readTextFile: (_path, options) =>
          new Promise<string>((_resolve, reject) =>
            options?.signal?.addEventListener("abort", () => {
              aborted = true;
              reject(options.signal?.reason);
            }),
          ),
      },
    });
    let settled = false;
    const pending = provider().catch((e: unknown) => e);
    void pending.then(() => {
      settled = true;
    });
    await fake.advance(4_999);
    expect(settled).toBe(false);
    await fake.advance(1);
    expect(await pending).toMatchObject({
      code: "ERR_TIMEOUT",
      message: expect.stringMatching(
        /reading the web-identity token file \/mnt\/hung-nfs\/token \(tokenFile option\) did not finish within 5000 ms/,
      ),
    });
    expect(aborted).toBe(true);
    expect(sts.calls).toHaveLength(0);
  });

  it("a FIFO nobody writes is refused at once, holding no thread, without calling STS", async () => {
    const fifo = tmp.path("fifo-token");
    execFileSync("mkfifo", [fifo]);
    const provider = fromWebIdentity({
      roleArn: ROLE,
      tokenFile: fifo,
      region: "us-east-1",
      stsEndpoint: sts.url,
      runtime: { env: {} },
    });
    // More reads than the thread pool has threads: none may block one.
    for (let i = 0; i < 8; i++) {
      await expect(provider()).rejects.toMatchObject({
        code: "ERR_TOKEN_FILE",
        message: expect.stringContaining(`${fifo} (tokenFile option): not a regular file`),
      });
    }
    expect(sts.calls).toHaveLength(0);
  });
});
