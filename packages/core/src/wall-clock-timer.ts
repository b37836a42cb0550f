import type { Runtime, TimerHandle } from "./runtime.js";

/**
 * How often a wall-clock timer looks at the wall clock while its moment is
 * further away. Short enough that a host resumed from suspend, or a clock
 * stepped forward, refreshes within seconds; long enough to cost nothing.
 */
export const WALL_CLOCK_CHECK_MS = 10_000;

export interface WallClockTimerOptions {
  /** How often to look at the wall clock. Default {@link WALL_CLOCK_CHECK_MS}. */
  checkEveryMs?: number | undefined;
  /** Let the process exit while the timer is pending. */
  unref?: boolean | undefined;
}

/**
 * Runs `fn` once the WALL clock (`runtime.now()`) reaches `at`, a moment such
 * as an expiry.
 *
 * One `setTimeout(fn, at - Date.now())` is not enough: timers run on a
 * monotonic clock that stands still while a VM is suspended and ignores a
 * stepped wall clock, so after an hour asleep such a timer still waits its
 * full delay while the credentials it guards have expired. This one never
 * sleeps longer than `checkEveryMs` between looks at the wall clock, and fires
 * on the first look at or after `at` — forward steps are caught within one
 * check, backward steps delay it as they should. `fn` always runs from a timer,
 * never synchronously, even when `at` has already passed.
 */
export const setWallClockTimer = (
  runtime: Pick<Runtime, "now" | "setTimer">,
  at: number,
  fn: () => void,
  options: WallClockTimerOptions = {},
): TimerHandle => {
  const every = Math.max(1, options.checkEveryMs ?? WALL_CLOCK_CHECK_MS);
  const timerOptions = options.unref ? { unref: true } : undefined;
  let handle: TimerHandle | undefined;
  let cancelled = false;
  const arm = (delay: number) => {
    handle = runtime.setTimer(check, Math.min(Math.max(0, delay), every), timerOptions);
  };
  const check = () => {
    if (cancelled) return;
    const left = at - runtime.now();
    if (left > 0) return arm(left);
    cancelled = true;
    handle = undefined;
    fn();
  };
  arm(at - runtime.now());
  return {
    cancel: () => {
      cancelled = true;
      handle?.cancel();
      handle = undefined;
    },
  };
};
