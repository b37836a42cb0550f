import type { Runtime } from "../runtime.js";

/**
 * The runtime's timers, remembering when the last one armed should fire, on
 * the monotonic clock: a timer long past that moment means timers no longer
 * run, and nothing it was to start will start. One pending timer at a time.
 */
export const watchedTimers = (rt: Pick<Runtime, "now" | "monotonicNow" | "setTimer">) => {
  let dueAt: number | undefined;
  const timers: Pick<Runtime, "now" | "setTimer"> = {
    now: rt.now,
    setTimer: (fn, ms, options) => {
      dueAt = rt.monotonicNow() + Math.max(0, ms);
      return rt.setTimer(
        () => {
          dueAt = undefined;
          fn();
        },
        ms,
        options,
      );
    },
  };
  return {
    timers,
    /** The pending timer was cancelled. */
    cleared: () => {
      dueAt = undefined;
    },
    /** How far past its moment the pending timer is (0 before it); undefined when none is pending. */
    lateMs: (): number | undefined =>
      dueAt === undefined ? undefined : Math.max(0, rt.monotonicNow() - dueAt),
  };
};
