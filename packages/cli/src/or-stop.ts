/**
 * For commands that run to completion (`write`, `process`, `doctor`): an
 * upstream call that hangs (a silent STS) must not outlast SIGTERM or SIGINT.
 * Only calls with no effect on disk are raced this way: what the command
 * writes is either synchronous (the cache entry) or watches the signal itself
 * (the credentials file's lock wait), so a stop never leaves half of it.
 */

/** The command was told to stop while it waited; main reports it and exits 1. */
export class StoppedError extends Error {
  override name = "StoppedError";
}

/**
 * Settles as `work` does, or rejects with a {@link StoppedError} naming what
 * was awaited as soon as `signal` aborts; `work` is then left to its own devices.
 */
export const orStop = <T>(work: Promise<T>, signal: AbortSignal, awaited: string): Promise<T> => {
  const stopped = () => {
    // Its failure (the socket torn down at exit) is no longer anyone's concern.
    work.catch(() => {});
    return new StoppedError(`stopped by ${String(signal.reason ?? "a signal")} while waiting for ${awaited}`);
  };
  if (signal.aborted) return Promise.reject(stopped());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stopped());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
};
