import { isCredbridgeError, type RefreshEvent, refreshing } from "@credbridge/core";
import { STS_XML_NAMESPACE, type StsEmulator, startStsEmulator } from "@credbridge/emulators";
import type { AwsCredentialIdentity } from "@smithy/types";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { idle, manualClock, memoryLogger, ROLE, webIdentity, writeToken } from "./support.js";

const MIN = 60_000;
const HOUR = 60 * MIN;

let clock: ReturnType<typeof manualClock>;
let sts: StsEmulator;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let tokenFile: string;

beforeAll(async () => {
  clock = manualClock();
  sts = await startStsEmulator({ now: clock.now });
  tmp = await tempDir("credbridge-faults-sts-");
  tokenFile = tmp.path("token");
  await writeToken(tokenFile, clock.now);
});
afterAll(async () => {
  await sts.close();
  await tmp.cleanup();
});
afterEach(() => sts.reset());

/** An engine on the shared clock with botocore's windows and a 60 s margin. */
const engineFor = (options: { requestTimeoutMs?: number; maxAttempts?: number; timeoutMs?: number } = {}) => {
  const events: RefreshEvent[] = [];
  const log = memoryLogger();
  const engine = refreshing(webIdentity(sts.url, tokenFile, options), {
    advisoryWindowSeconds: 900,
    mandatoryWindowSeconds: 600,
    minRemainingSeconds: 60,
    observer: (e) => events.push(e),
    runtime: { now: clock.now, setTimer: clock.setTimer, random: () => 0.5, logger: log.logger },
  });
  const settle = () => idle(engine);
  return { engine, events, log, settle };
};

/** What a caller got at one moment: credentials or the error. */
type Sample = { at: number; credentials?: AwsCredentialIdentity; error?: unknown };
const sample = async (engine: () => Promise<AwsCredentialIdentity>): Promise<Sample> => {
  const at = clock.now();
  try {
    return { at, credentials: await engine() };
  } catch (error) {
    return { at, error };
  }
};

/** A complete, well-formed AssumeRoleWithWebIdentity answer with the given expiration. */
const successBody = (expiration: string) =>
  `<AssumeRoleWithWebIdentityResponse xmlns="${STS_XML_NAMESPACE}"><AssumeRoleWithWebIdentityResult>` +
  `<Credentials><AccessKeyId>ASIAFAULTEXPIRED0001</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>` +
  `<SessionToken>token</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
  `<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/app/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>` +
  `</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`;

describe("STS throttled on every call for two hours (manual clock)", () => {
  it("serves the cached credentials up to their margin, backs off, never serves expired ones, recovers", async () => {
    const t0 = clock.now();
    const { engine, events, log, settle } = engineFor();
    engine.start();
    await settle();
    const first = await engine();
    expect(first.expiration!.getTime()).toBe(t0 + HOUR);
    const advisoryAt = t0 + HOUR - 15 * MIN; // refresh windows open here (plus at most 60 s jitter)
    const usableUntil = t0 + HOUR - MIN; // expiration less the 60 s margin

    sts.failAlways({ code: "Throttling" });
    const recoverAt = t0 + 2 * HOUR;
    const samples: Sample[] = [];
    for (let t = t0 + 15_000; t <= recoverAt + 10 * MIN; t += 15_000) {
      if (t > recoverAt && t - 15_000 <= recoverAt) sts.clearFaults();
      await clock.advanceTo(t, settle);
      samples.push(await sample(engine));
    }
    engine.stop();

    const calls = sts.calls.slice(1);
    const throttled = calls.filter((c) => c.code === "Throttling");
    // Nothing before the advisory window: the cached credentials were good.
    expect(Math.min(...calls.map((c) => c.at))).toBeGreaterThanOrEqual(advisoryAt);
    // Bounded: 480 callers over the outage, a few dozen upstream calls.
    expect(throttled.length).toBeGreaterThan(10);
    expect(throttled.length).toBeLessThan(40);

    // Backoff grows from about a second to the 5 min cap (0.75 of it with random 0.5) and stays there.
    const failures = events.filter((e) => e.type === "refresh-failure");
    const delays = failures.map((e) => e.retryAt.getTime() - e.at.getTime());
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays[0]).toBeLessThanOrEqual(1_000);
    expect(Math.max(...delays)).toBe(225_000);
    const gaps = throttled.slice(1).map((c, i) => c.at - throttled[i]!.at);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeGreaterThanOrEqual(gaps[i - 1]!);

    // Until the margin: every caller got the cached credentials, with at least 60 s left.
    const served = samples.filter((s) => s.credentials);
    for (const s of served) expect(s.credentials!.expiration!.getTime() - s.at).toBeGreaterThanOrEqual(MIN);
    for (const s of samples.filter((s) => s.at < usableUntil)) {
      expect(s.error).toBeUndefined();
      expect(s.credentials!.accessKeyId).toBe(first.accessKeyId);
    }
    // From the margin to recovery: an error that says why, never the old credentials.
    const dark = samples.filter((s) => s.at >= usableUntil && s.at <= recoverAt);
    expect(dark.length).toBeGreaterThan(200);
    for (const s of dark) {
      expect(s.credentials).toBeUndefined();
      expect(isCredbridgeError(s.error)).toBe(true);
      expect(["ERR_EXPIRED", "ERR_STS"]).toContain((s.error as { code: string }).code);
      expect((s.error as Error).message).toMatch(/Throttling/);
    }

    // Recovery within one capped backoff of STS coming back.
    const recovered = samples.find((s) => s.at > recoverAt && s.credentials);
    expect(recovered).toBeDefined();
    expect(recovered!.at - recoverAt).toBeLessThanOrEqual(5 * MIN);
    expect(recovered!.credentials!.accessKeyId).not.toBe(first.accessKeyId);
    for (const s of samples.filter((s) => s.at >= recovered!.at)) {
      expect(s.credentials?.accessKeyId).toBe(recovered!.credentials!.accessKeyId);
    }
    expect(engine.state()).toMatchObject({
      status: "fresh",
      consecutiveFailures: 0,
      lastError: expect.anything(),
    });
    console.log(
      `throttling: ${samples.length} callers over 2 h 10 min, ${throttled.length} STS calls; backoff ${delays
        .map((d) => Math.round(d / 100) / 10)
        .join(", ")} s; recovered ${(recovered!.at - recoverAt) / 1000} s after STS did`,
    );

    // The log an operator reads: warnings while cached credentials carry on, errors once they cannot.
    expect(
      log.lines.some((l) => l.level === "warn" && /serving cached credentials valid until/.test(l.text)),
    ).toBe(true);
    expect(log.lines.some((l) => l.level === "error" && /no valid credentials to serve/.test(l.text))).toBe(
      true,
    );
  });
});

describe("STS answering garbage", () => {
  const cases: { name: string; status: number; body: string; contentLength?: number; code: string }[] = [
    {
      name: "malformed XML",
      status: 200,
      body: "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA",
      code: "ERR_STS",
    },
    {
      name: "a 200 carrying an error document",
      status: 200,
      body: `<ErrorResponse xmlns="${STS_XML_NAMESPACE}"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
      code: "ERR_INVALID_RESPONSE",
    },
    { name: "an empty 200", status: 200, body: "", code: "ERR_INVALID_RESPONSE" },
    {
      name: "an HTML page with 200",
      status: 200,
      body: "<html><body>proxy login</body></html>",
      code: "ERR_INVALID_RESPONSE",
    },
    {
      name: "an Expiration that is not a date",
      status: 200,
      body: successBody("not-a-date"),
      code: "ERR_STS",
    },
    {
      name: "a body cut off mid-response",
      status: 200,
      body: successBody("2026-03-01T01:00:00Z").slice(0, 200),
      contentLength: 5_000,
      code: "ERR_STS",
    },
    { name: "a 502 HTML page from a proxy", status: 502, body: "<html>bad gateway</html>", code: "ERR_STS" },
  ];

  it.each(cases)("$name: refused, cached credentials kept, the next answer is used", async (fault) => {
    const { engine, events, settle } = engineFor();
    const first = await engine();
    clock.set(first.expiration!.getTime() - 5 * MIN); // inside the mandatory window: callers wait for the refresh
    sts.injectRaw(fault);
    const during = await engine();
    // Stale-if-error: the same, complete credentials, not a half-parsed set.
    expect(during).toEqual(first);
    const failure = events.find((e) => e.type === "refresh-failure");
    expect(failure).toMatchObject({ type: "refresh-failure", servingCached: true });
    const error = (failure as { error: unknown }).error;
    expect(isCredbridgeError(error)).toBe(true);
    expect(error).toMatchObject({ code: fault.code });
    expect((error as Error).message).toContain(`sts:AssumeRoleWithWebIdentity for ${ROLE}`);
    expect(sts.calls.at(-1)).toMatchObject({ fault: "raw" });

    await clock.advanceTo(clock.now() + 2_000, settle); // past the first backoff
    const next = await engine();
    expect(next.accessKeyId).not.toBe(first.accessKeyId);
    expect(next.accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId);
    expect(engine.state().consecutiveFailures).toBe(0);
  });

  it("with nothing cached, the caller gets the error, never a credential with missing fields", async () => {
    for (const fault of cases) {
      const { engine } = engineFor();
      sts.injectRaw(fault);
      const error = await engine().then(
        (c) => c,
        (e: unknown) => e,
      );
      expect(isCredbridgeError(error), fault.name).toBe(true);
      expect(error, fault.name).toMatchObject({ code: fault.code });
    }
  });
});

describe("STS credentials that are already expired or too short", () => {
  it("an Expiration in the past is refused and the error names the clock", async () => {
    const { engine } = engineFor();
    sts.injectRaw({ status: 200, body: successBody(new Date(clock.now() - HOUR).toISOString()) });
    await expect(engine()).rejects.toMatchObject({
      code: "ERR_EXPIRED",
      message: expect.stringMatching(/check the source's clock and session duration/),
    });
    expect(engine.state()).toMatchObject({ status: "empty", accessKeyId: undefined });
  });

  it("credentials with less than the margin left are refused; a cached set outlives them", async () => {
    const { engine, events, settle } = engineFor();
    const first = await engine();
    clock.set(first.expiration!.getTime() - 5 * MIN);
    sts.setLifetimeSeconds(30); // STS hands out sessions inside the 60 s margin
    try {
      expect(await engine()).toEqual(first);
      const failure = events.find((e) => e.type === "refresh-failure") as Extract<
        RefreshEvent,
        { type: "refresh-failure" }
      >;
      expect(failure.error).toMatchObject({ code: "ERR_EXPIRED" });
      expect(failure.error.message).toMatch(/leaves less than the required 60 s/);
      // Once the cached set reaches its margin, callers get the error, not the 30 s credentials.
      await clock.advanceTo(first.expiration!.getTime() - MIN, settle);
      const error = await engine().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: "ERR_EXPIRED" });
    } finally {
      sts.setLifetimeSeconds(undefined);
    }
  });
});

describe("STS hanging past the request timeout", () => {
  it("a hung refresh is cut at the timeout and the cached credentials keep being served", async () => {
    const { engine, settle } = engineFor({ requestTimeoutMs: 200 });
    const first = await engine();
    clock.set(first.expiration!.getTime() - 5 * MIN);
    sts.hang(); // never answers
    const started = performance.now();
    expect(await engine()).toEqual(first);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(150);
    expect(waited).toBeLessThan(2_000);
    expect(engine.state().lastError?.message).toMatch(/200 ms requestTimeout/);
    expect(sts.calls.at(-1)).toMatchObject({ fault: "hang", status: 0 });

    await clock.advanceTo(clock.now() + 2_000, settle);
    expect((await engine()).accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId);
  });

  it("with nothing cached, every waiting caller is released at the timeout with the error", async () => {
    const { engine } = engineFor({ requestTimeoutMs: 200 });
    sts.hang();
    const started = performance.now();
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => engine()));
    const waited = performance.now() - started;
    expect(waited).toBeLessThan(2_000);
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(sts.calls).toHaveLength(1); // one upstream call for fifty callers
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: "ERR_TIMEOUT" });
  });
});

describe("STS answering a byte at a time (a slow proxy, a half-broken NAT path)", () => {
  it("the call is aborted at its overall deadline though the idle timeout never trips; the next refresh succeeds", async () => {
    // Idle timeout 1 s, a byte every 50 ms: only an overall deadline ends it (room for a loaded machine's pauses).
    const { engine, settle } = engineFor({ requestTimeoutMs: 1_000, timeoutMs: 2_000 });
    const first = await engine();
    clock.set(first.expiration!.getTime() - 5 * MIN);
    sts.trickle({ intervalMs: 50 });
    const started = performance.now();
    expect(await engine()).toEqual(first);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1_950);
    expect(waited).toBeLessThan(8_000);
    expect(engine.state().lastError).toMatchObject({ code: "ERR_TIMEOUT", current: true });
    expect(engine.state().lastError?.message).toMatch(
      /sts:AssumeRoleWithWebIdentity .* did not complete its answer within 2000 ms/,
    );
    expect(engine.state().refreshing).toBe(false);
    expect(sts.calls.at(-1)).toMatchObject({ fault: "trickle" });

    await clock.advanceTo(clock.now() + 2_000, settle);
    expect((await engine()).accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId);
    expect(engine.state().consecutiveFailures).toBe(0);
  });
});

describe("STS 5xx storm with many concurrent callers", () => {
  it("the number of upstream calls stays bounded by single-flight and backoff", async () => {
    const { engine, settle } = engineFor({ maxAttempts: 3 });
    sts.failAlways({ code: "ServiceUnavailable" });
    const burst = () => Promise.allSettled(Array.from({ length: 200 }, () => engine()));

    const first = await burst();
    expect(first.every((r) => r.status === "rejected")).toBe(true);
    const afterFirst = sts.calls.length;
    expect(afterFirst).toBeGreaterThanOrEqual(1);
    expect(afterFirst).toBeLessThanOrEqual(3); // one refresh, the SDK's own retries at most

    // Inside the backoff: callers are told when the next attempt is, STS is left alone.
    const held = await burst();
    expect(sts.calls.length).toBe(afterFirst);
    expect((held[0] as PromiseRejectedResult).reason).toMatchObject({
      code: "ERR_EXPIRED",
      message: expect.stringMatching(/next attempt is at/),
    });

    await clock.advanceTo(clock.now() + 5_000, settle);
    await burst();
    expect(sts.calls.length - afterFirst).toBeLessThanOrEqual(3);

    sts.clearFaults();
    await clock.advanceTo(clock.now() + 10_000, settle);
    const before = sts.calls.length;
    const ok = await burst();
    expect(sts.calls.length - before).toBe(1);
    const keys = new Set(ok.map((r) => (r.status === "fulfilled" ? r.value.accessKeyId : "rejected")));
    expect([...keys]).toEqual([sts.issued.at(-1)!.accessKeyId]);
  });
});
