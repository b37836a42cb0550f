import type { Runtime } from "./runtime.js";

export interface ManualRuntimeOptions {
  /** Start of the clock, ms since the epoch. Default 2026-01-01T00:00:00Z. */
  start?: number;
  /** What `random()` returns. Default 0.5. */
  random?: number;
  env?: Record<string, string>;
  /**
   * `"advance"` (default): `sleep(ms)` moves the clock by `ms` and resolves at
   * once, for code that only counts its waits. `"timers"`: `sleep` resolves
   * when `advance` passes its moment, for code whose waits race other timers.
   */
  sleep?: "advance" | "timers";
}

/**
 * A deterministic runtime for tests of code built on credbridge (engines,
 * providers, sidecars): a manual clock whose timers fire only when the test
 * advances it, fixed randomness, and an in-memory environment and file system.
 * Pass `runtime` wherever an option takes a `RuntimeOptions`.
 *
 * Two clocks, as on a real host: the wall clock (`now`) and the monotonic one
 * timers run on. `advance` moves both; `jump` moves only the wall clock, as an
 * NTP step or a resumed VM does, so no timer fires or moves.
 */
export const manualRuntime = (options: ManualRuntimeOptions = {}) => {
  let now = options.start ?? Date.parse("2026-01-01T00:00:00Z");
  let monotonic = 0;
  // Timer moments are on the monotonic clock.
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const files = new Map<string, string>();
  const sleeps: number[] = [];
  const env: Record<string, string | undefined> = { ...options.env };
  const setTimer = (fn: () => void, ms: number) => {
    const timer = { at: monotonic + Math.max(0, ms), fn, live: true };
    timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
      },
    };
  };
  const runtime: Runtime = {
    now: () => now,
    monotonicNow: () => monotonic,
    sleep:
      options.sleep === "timers"
        ? (ms, signal) =>
            new Promise<void>((resolve, reject) => {
              sleeps.push(ms);
              if (signal?.aborted) return reject(signal.reason);
              const timer = setTimer(resolve, ms);
              signal?.addEventListener(
                "abort",
                () => {
                  timer.cancel();
                  reject(signal.reason);
                },
                { once: true },
              );
            })
        : async (ms) => {
            sleeps.push(ms);
            now += ms;
            monotonic += ms;
          },
    setTimer,
    random: () => options.random ?? 0.5,
    env,
    readTextFile: async (path) => {
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return text;
    },
    fetch: globalThis.fetch,
  };
  /** Moves both clocks forward, firing due timers in order, and lets promises settle. */
  const advance = async (ms: number) => {
    const until = monotonic + ms;
    for (;;) {
      const due = timers.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      const step = Math.max(0, due.at - monotonic);
      monotonic += step;
      now += step;
      due.live = false;
      due.fn();
      await settle();
    }
    // A sleep in "advance" mode may have moved the clocks past `until` already: never back.
    if (monotonic < until) {
      now += until - monotonic;
      monotonic = until;
    }
    await settle();
  };
  /** Moves the wall clock alone (negative: back): no timer fires or moves. */
  const jump = (ms: number) => {
    now += ms;
  };
  /** When the pending timers are due, in milliseconds from now on the monotonic clock. */
  const pendingTimers = () => timers.filter((t) => t.live).map((t) => t.at - monotonic);
  return { runtime, advance, jump, files, sleeps, env, pendingTimers, now: () => now };
};

/** Lets queued promise callbacks run. */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
};
