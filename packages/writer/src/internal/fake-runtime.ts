import type { Runtime } from "@credbridge/core";

/**
 * A manual clock for tests: timers and sleeps fire only when the test advances
 * it, randomness is fixed. File I/O stays real, so tests wait for it with
 * `vi.waitFor` between steps of the clock.
 */
export const fakeRuntime = (options: { start?: number; random?: number } = {}) => {
  let now = options.start ?? Date.parse("2026-01-01T00:00:00Z");
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const sleeps: number[] = [];
  const setTimer = (fn: () => void, ms: number) => {
    const timer = { at: now + Math.max(0, ms), fn, live: true };
    timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
      },
    };
  };
  const runtime: Partial<Runtime> = {
    now: () => now,
    setTimer,
    sleep: (ms, signal) =>
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
      }),
    random: () => options.random ?? 0.5,
  };
  /** Moves the clock forward, firing due timers in order. */
  const advance = async (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      now = Math.max(now, due.at);
      due.live = false;
      due.fn();
      await new Promise((r) => setImmediate(r));
    }
    now = until;
    await new Promise((r) => setImmediate(r));
  };
  return { runtime, advance, sleeps, now: () => now };
};
