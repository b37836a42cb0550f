import type { AwsCredentialIdentity } from "@smithy/types";
import { describe, expect, it } from "vitest";
import { isCredbridgeError } from "../errors.js";
import { manualRuntime, settle } from "../testing.js";
import { isRefreshingProvider, type RefreshEvent, refreshing } from "./refreshing.js";

const MIN = 60_000;

/** A source that issues numbered credentials living `lifetimeMs`, and can be made to fail. */
const counterSource = (clock: () => number, initialLifetimeMs = 60 * MIN) => {
  let calls = 0;
  let lifetimeMs = initialLifetimeMs;
  let failWith: Error | undefined;
  let gate: Promise<void> | undefined;
  const source = async (): Promise<AwsCredentialIdentity> => {
    calls++;
    const n = calls;
    if (gate) await gate;
    if (failWith) throw failWith;
    return {
      accessKeyId: `ASIAKEY${n}`,
      secretAccessKey: `secret-${n}`,
      sessionToken: `token-${n}`,
      expiration: new Date(clock() + lifetimeMs),
    };
  };
  return {
    source,
    calls: () => calls,
    setLifetime: (ms: number) => {
      lifetimeMs = ms;
    },
    fail: (error: Error | undefined) => {
      failWith = error;
    },
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => {
        release = r;
      });
      return () => {
        gate = undefined;
        release();
      };
    },
  };
};

const recording = () => {
  const lines: string[] = [];
  const push = (m: unknown) => void lines.push(String(m));
  return { lines, logger: { debug: push, info: push, warn: push, error: push } };
};

const setup = (lifetimeMs = 60 * MIN, options: Parameters<typeof refreshing>[1] = {}) => {
  const fake = manualRuntime({ random: 0 });
  const src = counterSource(fake.runtime.now, lifetimeMs);
  const events: RefreshEvent[] = [];
  const provider = refreshing(src.source, {
    name: "test",
    observer: (e) => events.push(e),
    ...options,
    runtime: fake.runtime,
  });
  return { fake, src, provider, events };
};

describe("refreshing", () => {
  it("is recognisable and does nothing until called", () => {
    const { provider, src } = setup();
    expect(isRefreshingProvider(provider)).toBe(true);
    expect(isRefreshingProvider(async () => ({}))).toBe(false);
    expect(src.calls()).toBe(0);
    expect(provider.state().status).toBe("empty");
  });

  it("serves cached credentials until the advisory window", async () => {
    const { provider, src, fake } = setup();
    const first = await provider();
    await fake.advance(44 * MIN);
    for (let i = 0; i < 100; i++) expect(await provider()).toBe(first);
    expect(src.calls()).toBe(1);
  });

  it("lets 1000 concurrent callers share one upstream call", async () => {
    const { provider, src } = setup();
    const release = src.hold();
    const all = Promise.all(Array.from({ length: 1000 }, () => provider()));
    await settle();
    release();
    const results = await all;
    expect(src.calls()).toBe(1);
    expect(new Set(results.map((c) => c.accessKeyId))).toEqual(new Set(["ASIAKEY1"]));
  });

  it("refreshes in the background inside the advisory window while callers keep the cached credentials", async () => {
    const { provider, src, fake } = setup();
    await provider();
    await fake.advance(46 * MIN); // 14 min left: advisory (15), not mandatory (10)
    const release = src.hold();
    const during = await provider();
    expect(during.accessKeyId).toBe("ASIAKEY1");
    expect(src.calls()).toBe(2);
    expect(provider.state().refreshing).toBe(true);
    expect((await provider()).accessKeyId).toBe("ASIAKEY1");
    expect(src.calls()).toBe(2);
    release();
    await settle();
    expect((await provider()).accessKeyId).toBe("ASIAKEY2");
  });

  it("makes callers wait for the refresh inside the mandatory window", async () => {
    const { provider, src, fake } = setup();
    await provider();
    await fake.advance(52 * MIN); // 8 min left
    const release = src.hold();
    let resolved: AwsCredentialIdentity | undefined;
    const pending = provider().then((c) => {
      resolved = c;
    });
    await settle();
    expect(resolved).toBeUndefined();
    release();
    await pending;
    expect(resolved?.accessKeyId).toBe("ASIAKEY2");
  });

  it("keeps serving still-valid credentials when a refresh fails, and backs off", async () => {
    const { provider, src, fake, events } = setup();
    await provider();
    await fake.advance(52 * MIN);
    src.fail(new Error("Throttling: Rate exceeded"));
    expect((await provider()).accessKeyId).toBe("ASIAKEY1");
    expect(src.calls()).toBe(2);
    // Within the backoff, callers get the cached credentials without an upstream call.
    for (let i = 0; i < 50; i++) expect((await provider()).accessKeyId).toBe("ASIAKEY1");
    expect(src.calls()).toBe(2);
    const failure = events.find((e) => e.type === "refresh-failure");
    expect(failure).toMatchObject({ servingCached: true, consecutiveFailures: 1 });
    const state = provider.state();
    expect(state.lastError?.message).toContain("Throttling");
    expect(state.consecutiveFailures).toBe(1);
    // After the backoff the next caller tries again; recovery clears the failure state.
    src.fail(undefined);
    await fake.advance(2_000);
    expect((await provider()).accessKeyId).toBe("ASIAKEY3");
    expect(provider.state().consecutiveFailures).toBe(0);
  });

  it("grows the backoff with consecutive failures", async () => {
    const { provider, src, fake, events } = setup();
    await provider();
    await fake.advance(51 * MIN);
    src.fail(new Error("ServiceUnavailable"));
    const retryGaps: number[] = [];
    for (let i = 0; i < 6; i++) {
      await provider();
      const last = events.filter((e) => e.type === "refresh-failure").at(-1);
      if (last?.type !== "refresh-failure") throw new Error("expected a failure event");
      retryGaps.push(last.retryAt.getTime() - last.at.getTime());
      await fake.advance(last.retryAt.getTime() - fake.now());
    }
    for (let i = 1; i < retryGaps.length; i++) expect(retryGaps[i]).toBeGreaterThan(retryGaps[i - 1]!);
  });

  it("never returns expired credentials: after expiry a failing source is an error", async () => {
    const { provider, src, fake } = setup();
    await provider();
    src.fail(new Error("AccessDenied"));
    await fake.advance(61 * MIN);
    await expect(provider()).rejects.toThrow("AccessDenied");
    // During the backoff: an error naming the last failure, without calling upstream.
    const calls = src.calls();
    const error = await provider().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.code).toBe("ERR_EXPIRED");
    expect((error as Error).message).toContain("AccessDenied");
    expect(src.calls()).toBe(calls);
  });

  it("refreshes short-lived credentials at a fraction of their life, not on every call", async () => {
    const { provider, src, fake } = setup(5 * MIN);
    await provider();
    await fake.advance(2 * MIN); // below half of 5 minutes: cached
    await provider();
    expect(src.calls()).toBe(1);
    await fake.advance(MIN); // past half-life: one background refresh
    await provider();
    await provider();
    await settle();
    expect(src.calls()).toBe(2);
  });

  it("delays the advisory refresh by jitter within bounds", async () => {
    const at = async (random: number) => {
      const fake = manualRuntime({ random });
      const src = counterSource(fake.runtime.now);
      const p = refreshing(src.source, { runtime: fake.runtime, jitterSeconds: 120 });
      await p();
      return p.state().refreshAt!.getTime() - fake.now();
    };
    const early = await at(0);
    const late = await at(0.999);
    expect(early).toBe(45 * MIN);
    expect(late).toBeGreaterThan(46.9 * MIN);
    expect(late).toBeLessThanOrEqual(47.5 * MIN); // never past halfway to the mandatory window
  });

  it("refreshes on a timer before expiry once started, and retries failures on the timer", async () => {
    const { provider, src, fake, events } = setup();
    provider.start();
    await settle();
    expect(src.calls()).toBe(1);
    await fake.advance(44 * MIN);
    expect(src.calls()).toBe(1);
    await fake.advance(2 * MIN);
    expect(src.calls()).toBe(2);
    expect(events.filter((e) => e.type === "refresh-success").map((e) => e.reason)).toEqual([
      "initial",
      "scheduled",
    ]);
    src.fail(new Error("down"));
    await fake.advance(46 * MIN);
    const failures = events.filter((e) => e.type === "refresh-failure").length;
    expect(failures).toBeGreaterThan(1);
    src.fail(undefined);
    await fake.advance(10 * MIN);
    expect(provider.state().consecutiveFailures).toBe(0);
    provider.stop();
    expect(fake.pendingTimers()).toEqual([]);
    const calls = src.calls();
    await fake.advance(120 * MIN);
    expect(src.calls()).toBe(calls);
  });

  it("caches credentials without expiration for good", async () => {
    const fake = manualRuntime();
    let calls = 0;
    const p = refreshing(
      async () => {
        calls++;
        return { accessKeyId: "AKIDSTATIC", secretAccessKey: "s" };
      },
      { runtime: fake.runtime },
    );
    await p();
    await fake.advance(1e9);
    await p();
    expect(calls).toBe(1);
    expect(p.state().status).toBe("fresh");
  });

  it("refuses credentials that leave less than minRemainingSeconds", async () => {
    const { provider } = setup(10 * MIN, {
      minRemainingSeconds: 900,
      mandatoryWindowSeconds: 960,
      advisoryWindowSeconds: 1200,
    });
    const error = await provider().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.code).toBe("ERR_EXPIRED");
    expect((error as Error).message).toMatch(/less than the required 900 s/);
  });

  it("counts credentials that are too short as a failed refresh: event, backoff, cached set kept", async () => {
    const { provider, src, fake, events } = setup(60 * MIN, { minRemainingSeconds: 300 });
    const first = await provider();
    src.setLifetime(4 * MIN);
    await fake.advance(52 * MIN); // mandatory window
    expect(await provider()).toBe(first);
    const failure = events.find((e) => e.type === "refresh-failure");
    expect(failure).toMatchObject({
      reason: "mandatory",
      servingCached: true,
      error: { code: "ERR_EXPIRED" },
    });
    expect(provider.state()).toMatchObject({ consecutiveFailures: 1, failures: 1, refreshing: false });
    const calls = src.calls();
    expect(await provider()).toBe(first); // inside the backoff: no new call
    expect(src.calls()).toBe(calls);
  });

  it("reports bad window options when called, not when built", async () => {
    const { provider } = setup(60 * MIN, { mandatoryWindowSeconds: 1000, advisoryWindowSeconds: 100 });
    await expect(provider()).rejects.toThrow(/mandatoryWindowSeconds \(1000\) must not exceed/);
  });

  it("forces a refresh on request", async () => {
    const { provider, src } = setup();
    await provider();
    expect((await provider({ forceRefresh: true })).accessKeyId).toBe("ASIAKEY2");
    expect((await provider.refresh()).accessKeyId).toBe("ASIAKEY3");
    expect(src.calls()).toBe(3);
  });

  it("exposes state and events without secrets", async () => {
    const { provider, fake, events } = setup();
    const unsubscribe = provider.subscribe(() => {});
    await provider();
    await fake.advance(48 * MIN);
    const state = provider.state();
    expect(state).toMatchObject({
      name: "test",
      status: "advisory",
      accessKeyId: "****KEY1",
      refreshes: 1,
    });
    const text = JSON.stringify(state);
    expect(text).not.toContain("secret-1");
    expect(text).not.toContain("token-1");
    expect(events.map((e) => e.type)).toEqual(["refresh-start", "refresh-success"]);
    unsubscribe();
  });

  it("logs failures through the logger without secrets", async () => {
    const fake = manualRuntime();
    const lines: string[] = [];
    const log = (...a: unknown[]) => lines.push(a.join(" "));
    const src = counterSource(fake.runtime.now);
    const p = refreshing(src.source, {
      runtime: { ...fake.runtime, logger: { debug: log, info: log, warn: log, error: log } },
    });
    await p();
    src.fail(new Error("ExpiredTokenException"));
    await fake.advance(55 * MIN);
    await p();
    expect(lines.some((l) => l.includes("ExpiredTokenException") && l.includes("serving cached"))).toBe(true);
    expect(lines.join("\n")).not.toMatch(/secret-|token-1|ASIAKEY1/);
  });

  describe("faults the engine must survive", () => {
    it("recovers from a source that throws synchronously (a plain function)", async () => {
      const fake = manualRuntime({ random: 0 });
      let calls = 0;
      let broken = true;
      const source = () => {
        calls++;
        if (broken) throw new Error("sync failure");
        return Promise.resolve({
          accessKeyId: "ASIASYNC",
          secretAccessKey: "s",
          expiration: new Date(fake.now() + 60 * MIN),
        });
      };
      const p = refreshing(source, { runtime: fake.runtime, retry: { initialDelayMs: 1_000 } });
      await expect(p()).rejects.toThrow("sync failure");
      expect(p.state().refreshing).toBe(false);
      // Inside the backoff: refused without a call.
      await expect(p()).rejects.toThrow(/next attempt/);
      expect(calls).toBe(1);
      broken = false;
      await fake.advance(1_000);
      expect((await p()).accessKeyId).toBe("ASIASYNC");
      expect(calls).toBe(2);
    });

    it("starts no second upstream call when a refresh-start listener calls the provider", async () => {
      const { provider, src } = setup();
      const reentrant: Promise<unknown>[] = [];
      provider.subscribe((e) => {
        if (e.type === "refresh-start") reentrant.push(provider(), provider.refresh());
      });
      const first = await provider();
      const others = await Promise.all(reentrant);
      expect(src.calls()).toBe(1);
      expect(others).toEqual([first, first]);
    });

    it("reports invalid windows as ERR_CONFIG before any upstream call, and never retries them", async () => {
      const { provider, src, fake, events } = setup(60 * MIN, { minRemainingSeconds: 900 });
      for (let i = 0; i < 3; i++) {
        const error = await provider().catch((e: unknown) => e);
        expect(isCredbridgeError(error) && error.code).toBe("ERR_CONFIG");
        expect((error as Error).message).toMatch(
          /minRemainingSeconds \(900\) must not exceed mandatoryWindowSeconds \(600\)/,
        );
        await fake.advance(10 * MIN);
      }
      expect(provider.peek()).toBeUndefined();
      expect(() => provider.start()).toThrow(/minRemainingSeconds/);
      expect(src.calls()).toBe(0);
      expect(events).toEqual([]);
      expect(provider.state()).toMatchObject({ failures: 0, consecutiveFailures: 0, refreshing: false });
      expect(fake.pendingTimers()).toEqual([]);
    });

    it("marks the last error as past once a refresh succeeds", async () => {
      const { provider, src, fake } = setup();
      src.fail(new Error("throttled"));
      await expect(provider()).rejects.toThrow("throttled");
      expect(provider.state().lastError).toMatchObject({ message: "throttled", current: true });
      src.fail(undefined);
      await fake.advance(2_000);
      await provider();
      expect(provider.state().lastError).toMatchObject({ message: "throttled", current: false });
      expect(provider.state().consecutiveFailures).toBe(0);
    });
  });

  describe("slow sources and moving clocks", () => {
    /** A source whose calls the test answers by hand: each call waits until the test settles it. */
    const manualSource = (now: () => number) => {
      const calls: { resolve: (c: AwsCredentialIdentity) => void; reject: (e: Error) => void }[] = [];
      const source = () =>
        new Promise<AwsCredentialIdentity>((resolve, reject) => {
          calls.push({ resolve, reject });
        });
      const credentials = (n: number): AwsCredentialIdentity => ({
        accessKeyId: `ASIAKEY${n}`,
        secretAccessKey: `secret-${n}`,
        sessionToken: `token-${n}`,
        expiration: new Date(now() + 60 * MIN),
      });
      return { source, calls, credentials };
    };

    it("gives up on a call that never returns at attemptTimeoutSeconds: a failure with backoff, the single flight free again", async () => {
      const fake = manualRuntime({ random: 0 });
      const src = manualSource(fake.runtime.now);
      const events: RefreshEvent[] = [];
      const provider = refreshing(src.source, {
        name: "test",
        attemptTimeoutSeconds: 30,
        observer: (e) => events.push(e),
        runtime: fake.runtime,
      });
      provider.start();
      const waiting = provider().catch((e: unknown) => e);
      await settle();
      expect(src.calls).toHaveLength(1);
      await fake.advance(29_000);
      expect(provider.state()).toMatchObject({ refreshing: true, refreshingForMs: 29_000 });
      await fake.advance(1_000);
      // The caller joined to the stuck call is answered at the deadline, not left waiting with it.
      const error = await waiting;
      expect(isCredbridgeError(error) && error.code).toBe("ERR_TIMEOUT");
      expect((error as Error).message).toMatch(/did not return within 30 s/);
      expect(provider.state()).toMatchObject({
        refreshing: false,
        refreshingForMs: undefined,
        consecutiveFailures: 1,
        abandonedAttempts: 1,
      });
      // Its duration is the time to the deadline: what a latency histogram records for it.
      expect(events.at(-1)).toMatchObject({
        type: "refresh-failure",
        consecutiveFailures: 1,
        durationMs: 30_000,
      });
      // The backoff (500 ms with random 0), then a new call: the stuck one does not hold the flight.
      await fake.advance(500);
      expect(src.calls).toHaveLength(2);
      src.calls[1]!.resolve(src.credentials(2));
      await settle();
      expect((await provider()).accessKeyId).toBe("ASIAKEY2");
      // The abandoned call's late answer is ignored, and no longer counted as running.
      src.calls[0]!.resolve(src.credentials(1));
      await settle();
      expect((await provider()).accessKeyId).toBe("ASIAKEY2");
      expect(provider.state()).toMatchObject({ abandonedAttempts: 0, refreshes: 1, failures: 1 });
      provider.stop();
    });

    it("keeps retrying with growing backoff while every call hangs, and recovers when one returns", async () => {
      const fake = manualRuntime({ random: 0 });
      const src = manualSource(fake.runtime.now);
      const provider = refreshing(src.source, { attemptTimeoutSeconds: 10, runtime: fake.runtime });
      provider.start();
      await settle();
      // Attempts at 0, 10.5, 21.5, 33.5 s: 10 s each, then 0.5, 1 and 2 s of backoff.
      await fake.advance(34_000);
      expect(src.calls).toHaveLength(4);
      expect(provider.state()).toMatchObject({
        consecutiveFailures: 3,
        abandonedAttempts: 3,
        refreshing: true,
      });
      src.calls[3]!.resolve(src.credentials(4));
      await settle();
      expect(provider.state()).toMatchObject({ status: "fresh", consecutiveFailures: 0, refreshing: false });
      provider.stop();
    });

    it("refuses a non-positive attemptTimeoutSeconds as ERR_CONFIG", async () => {
      const { provider } = setup(60 * MIN, { attemptTimeoutSeconds: 0 });
      const error = await provider().catch((e: unknown) => e);
      expect(isCredbridgeError(error) && error.code).toBe("ERR_CONFIG");
      expect((error as Error).message).toMatch(/attemptTimeoutSeconds must be a positive number/);
    });

    it("refreshes within one wall-clock check after the wall clock jumps past the refresh moment (a resumed VM)", async () => {
      const { provider, src, fake, events } = setup();
      provider.start();
      await settle();
      expect(src.calls()).toBe(1);
      // Suspended for 50 minutes: the wall clock moved, the monotonic clock and its timers did not.
      fake.jump(50 * MIN);
      expect(provider.state().status).toBe("mandatory");
      await fake.advance(10_000);
      expect(src.calls()).toBe(2);
      expect(events.at(-1)).toMatchObject({ type: "refresh-success", reason: "scheduled" });
      expect(provider.state().status).toBe("fresh");
      provider.stop();
      expect(fake.pendingTimers()).toEqual([]);
    });

    it("refreshes at once after a jump past expiry, with nothing asking for credentials", async () => {
      const { provider, src, fake } = setup();
      provider.start();
      await settle();
      fake.jump(3 * 60 * MIN);
      expect(provider.state().status).toBe("expired");
      await fake.advance(10_000);
      expect(src.calls()).toBe(2);
      expect(provider.state().status).toBe("fresh");
      provider.stop();
    });

    it("retries a failure on the wall clock too: a jump past the backoff retries within one check", async () => {
      const { provider, src, fake } = setup(60 * MIN, {
        retry: { initialDelayMs: 5 * MIN, maxDelayMs: 5 * MIN },
      });
      src.fail(new Error("down"));
      provider.start();
      await settle();
      expect(provider.state().consecutiveFailures).toBe(1);
      src.fail(undefined);
      fake.jump(5 * MIN);
      await fake.advance(10_000);
      expect(src.calls()).toBe(2);
      expect(provider.state().status).toBe("fresh");
      provider.stop();
    });

    it("retries a failure after its backoff even when the wall clock steps back an hour: the backoff is a length of time, not a moment", async () => {
      const { provider, src, fake } = setup(60 * MIN, {
        retry: { initialDelayMs: 2_000, maxDelayMs: 2_000 },
      });
      src.fail(new Error("down"));
      provider.start();
      await settle();
      expect(provider.state().consecutiveFailures).toBe(1);
      src.fail(undefined);
      // NTP steps the clock back: the host had booted an hour ahead.
      fake.jump(-60 * MIN);
      await fake.advance(2_000);
      expect(src.calls()).toBe(2);
      expect(provider.state().status).toBe("fresh");
      // Callers are not refused for the length of the step either.
      await expect(provider()).resolves.toMatchObject({ accessKeyId: "ASIAKEY2" });
      provider.stop();
    });

    it("a caller after a failure is refused until the backoff has run on the monotonic clock, however far the wall clock stepped back", async () => {
      const { provider, src, fake } = setup(60 * MIN, {
        retry: { initialDelayMs: 2_000, maxDelayMs: 2_000 },
      });
      src.fail(new Error("down"));
      await expect(provider()).rejects.toThrow(/down/);
      src.fail(undefined);
      fake.jump(-60 * MIN);
      await expect(provider()).rejects.toThrow(/next attempt is at/);
      await fake.advance(2_000);
      await expect(provider()).resolves.toMatchObject({ accessKeyId: "ASIAKEY2" });
      expect(src.calls()).toBe(2);
    });

    it("does not refresh early when the wall clock steps back: the moment is a wall-clock moment", async () => {
      const { provider, src, fake } = setup();
      provider.start();
      await settle();
      fake.jump(-10 * MIN);
      await fake.advance(46 * MIN);
      expect(src.calls()).toBe(1);
      await fake.advance(10 * MIN);
      expect(src.calls()).toBe(2);
      provider.stop();
    });
  });

  describe("a floor between successful refreshes", () => {
    /** The windows `serve` places around its margin. */
    const served = (minRemainingSeconds: number) => ({
      minRemainingSeconds,
      mandatoryWindowSeconds: minRemainingSeconds + 60,
      advisoryWindowSeconds: minRemainingSeconds + 300,
    });

    it("sessions barely longer than the margin (901 s against 900) are refreshed at most once per tenth of their life, not in a storm", async () => {
      const { src, fake } = setup(901_000);
      const { logger, lines } = recording();
      const quiet = refreshing(src.source, { ...served(900), runtime: { ...fake.runtime, logger } });
      quiet.start();
      await settle();
      expect(src.calls()).toBe(1);
      // Twenty seconds of timers and of servers asking (peek) every 100 ms.
      for (let t = 0; t < 200; t++) {
        quiet.peek();
        await fake.advance(100);
      }
      expect(src.calls()).toBe(1);
      // The engine says why nothing is served meanwhile, and what to change.
      expect(lines.join("\n")).toMatch(
        /may be served for 1 s only .* less than the 90 s the engine leaves between refreshes/,
      );
      await expect(quiet()).rejects.toThrow(/refreshes at most every 90 s/);
      await fake.advance(71_000);
      expect(src.calls()).toBe(2);
      quiet.stop();
    });

    it("leaves well-configured sessions alone: an hour with a 15-minute margin still refreshes in its advisory window", async () => {
      const { provider, src, fake } = setup(60 * MIN, { ...served(900), jitterSeconds: 0 });
      provider.start();
      await settle();
      await fake.advance(39 * MIN);
      expect(src.calls()).toBe(1);
      await fake.advance(2 * MIN);
      expect(src.calls()).toBe(2);
      provider.stop();
    });

    it("a forced refresh is not held back", async () => {
      const { provider, src } = setup(901_000, served(900));
      await provider();
      await provider.refresh();
      expect(src.calls()).toBe(2);
    });
  });

  describe("peek, for servers that must answer at once", () => {
    it("returns nothing while empty but starts the first refresh, which the provider then joins", async () => {
      const { provider, src } = setup();
      expect(provider.peek()).toBeUndefined();
      expect(provider.state().refreshing).toBe(true);
      const first = await provider();
      expect(src.calls()).toBe(1);
      expect(provider.peek()).toBe(first);
    });

    it("never waits in the mandatory window: returns the cached credentials and refreshes in the background", async () => {
      const { provider, src, fake } = setup();
      const first = await provider();
      await fake.advance(52 * MIN); // 8 minutes left: mandatory window
      const release = src.hold();
      expect(provider.peek()).toBe(first);
      await settle();
      expect(provider.peek()).toBe(first);
      expect(src.calls()).toBe(2);
      release();
      await settle();
      const second = provider.peek();
      expect(second?.accessKeyId).toBe("ASIAKEY2");
    });

    it("keeps returning usable credentials while the refresh fails, and nothing once they are past their usable life", async () => {
      const { provider, src, fake } = setup(60 * MIN, { minRemainingSeconds: 300 });
      const first = await provider();
      src.fail(new Error("sts down"));
      await fake.advance(52 * MIN);
      expect(provider.peek()).toBe(first);
      await settle();
      expect(provider.state().consecutiveFailures).toBe(1);
      expect(provider.peek()).toBe(first);
      await fake.advance(3 * MIN); // 5 minutes left = minRemaining: no longer usable
      expect(provider.peek()).toBeUndefined();
    });
  });
});
