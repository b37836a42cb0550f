/**
 * Waiting for the stop signal (SIGTERM, SIGINT) in long-running commands.
 *
 * A promise on an AbortSignal holds nothing in Node's event loop: when no timer,
 * socket or server is left, the process ends while the promise is still pending.
 * `serve` with static credentials (no refresh timer) and only the file output (no
 * server) is such a case: it exited 0 right after its first write.
 */

/** Longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days); more is clamped to 1 ms. */
const MAX_TIMER_MS = 0x7fff_ffff;

/** Resolves when the signal aborts (at once if it already has); holds nothing alive meanwhile. */
export const aborted = (signal: AbortSignal): Promise<void> =>
  signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));

/**
 * Resolves when the signal aborts, and keeps the process running until then,
 * whatever else holds the event loop: a long-running command waits with this, so it
 * runs until it is told to stop. The idle timer behind it is cleared on abort, so
 * shutdown ends the process as soon as the command's own work is done.
 */
export const untilStopped = (signal: AbortSignal): Promise<void> => {
  if (signal.aborted) return Promise.resolve();
  const hold = setInterval(() => {}, MAX_TIMER_MS);
  return new Promise((resolve) =>
    signal.addEventListener(
      "abort",
      () => {
        clearInterval(hold);
        resolve();
      },
      { once: true },
    ),
  );
};
