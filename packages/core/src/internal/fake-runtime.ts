import type { Runtime } from "../runtime.js";

/**
 * A deterministic runtime for tests: a manual clock whose timers fire only when
 * the test advances it, sleeps that advance the clock, fixed randomness, and an
 * in-memory environment and file system.
 */
export const fakeRuntime = (
  options: { start?: number; random?: number; env?: Record<string, string> } = {},
) => {
  let now = options.start ?? Date.parse("2026-01-01T00:00:00Z");
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const files = new Map<string, string>();
  const sleeps: number[] = [];
  const env: Record<string, string | undefined> = { ...options.env };
  const runtime: Runtime = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    setTimer: (fn, ms) => {
      const timer = { at: now + Math.max(0, ms), fn, live: true };
      timers.push(timer);
      return {
        cancel: () => {
          timer.live = false;
        },
      };
    },
    random: () => options.random ?? 0.5,
    env,
    readTextFile: async (path) => {
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return text;
    },
    fetch: globalThis.fetch,
  };
  /** Moves the clock forward, firing due timers in order, and lets promises settle. */
  const advance = async (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      now = Math.max(now, due.at);
      due.live = false;
      due.fn();
      await settle();
    }
    now = until;
    await settle();
  };
  const pendingTimers = () => timers.filter((t) => t.live).map((t) => t.at);
  return { runtime, advance, files, sleeps, env, pendingTimers, now: () => now };
};

/** Lets queued promise callbacks run. */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
};
