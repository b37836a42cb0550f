import type { Runtime } from "../runtime.js";

/**
 * Runs `work` with an overall deadline of `ms` on the runtime's timers: at the
 * deadline its signal aborts (whatever honours it stops: a socket, a file read)
 * and the caller gets `timedOut()` at once, whether or not the work has noticed.
 * An idle timeout is not a deadline: a peer that sends a byte every few
 * seconds never trips one.
 */
export const withDeadline = <T>(
  rt: Pick<Runtime, "setTimer">,
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
  timedOut: () => Error,
): Promise<T> => {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = rt.setTimer(
      () => {
        const error = timedOut();
        controller.abort(error);
        reject(error);
      },
      ms,
      { unref: true },
    );
    let running: Promise<T>;
    try {
      running = work(controller.signal);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (error: unknown) => {
        timer.cancel();
        // Once aborted, the work's own failure is the abort's echo: the caller already has the deadline's error.
        reject(controller.signal.aborted ? controller.signal.reason : error);
      },
    );
  });
};
