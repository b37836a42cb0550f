import type { AwsCredentialIdentity } from "@smithy/types";

export const KEY_A = {
  accessKeyId: "ASIAAAAAAAAAAAAAKEYA",
  secretAccessKey: "secret-a-0000000000000000000000000000000",
  sessionToken: "session-token-a",
};
export const KEY_B = {
  accessKeyId: "ASIABBBBBBBBBBBBKEYB",
  secretAccessKey: "secret-b-1111111111111111111111111111111",
  sessionToken: "session-token-b",
};

/** A manual clock for `runtime.now`. */
export const manualClock = (start = Date.parse("2026-01-01T00:00:00Z")) => {
  let now = start;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => now,
    /** Moves the clock and fires the timers that fall due, in order. */
    advance: (ms: number) => {
      now += ms;
      for (const t of timers.filter((t) => t.live && t.at <= now).sort((a, b) => a.at - b.at)) {
        t.live = false;
        t.fn();
      }
    },
    /** The runtime's `setTimer` on this clock: fires only when `advance` passes it. */
    setTimer: (fn: () => void, ms: number) => {
      const timer = { at: now + ms, fn, live: true };
      timers.push(timer);
      return {
        cancel: () => {
          timer.live = false;
        },
      };
    },
  };
};

/**
 * A provider the test drives: it returns `keys` with `lifetimeMs` left on
 * `now()`, counts its calls, and can be made to fail or to hang until released.
 */
export const controlledProvider = (now: () => number, lifetimeMs = 3_600_000) => {
  let keys = KEY_A;
  let failWith: Error | undefined;
  let gate: Promise<void> | undefined;
  let release: () => void = () => {};
  /** `calls` counts calls made, `done` calls that returned or threw. */
  const state = { calls: 0, done: 0 };
  const provider = async (): Promise<AwsCredentialIdentity> => {
    state.calls++;
    try {
      if (gate) await gate;
      if (failWith) throw failWith;
      return { ...keys, expiration: new Date(now() + lifetimeMs) };
    } finally {
      state.done++;
    }
  };
  return {
    provider,
    state,
    rotate: (next: typeof KEY_A) => {
      keys = next;
    },
    fail: (error: Error | undefined) => {
      failWith = error;
    },
    /** Calls wait until `release()`. */
    hold: () => {
      gate = new Promise((resolve) => {
        release = () => {
          gate = undefined;
          resolve();
        };
      });
    },
    release: () => release(),
    setLifetime: (ms: number) => {
      lifetimeMs = ms;
    },
  };
};

/** A logger that keeps every line, to prove no secret reaches it. */
export const recordingLogger = () => {
  const lines: string[] = [];
  const log =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push(`${level} ${args.map(String).join(" ")}`);
  return {
    lines,
    logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
  };
};

/** Lets the event loop turn `n` times: for asserting that something has NOT happened yet. */
export const turns = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Polls `condition` on the event loop (no fixed sleep) until it holds; fails after `limit` tries. */
export const until = async (condition: () => boolean, what: string, limit = 10_000): Promise<void> => {
  for (let i = 0; i < limit; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`gave up waiting for ${what}`);
};
