import { CredbridgeError, type Runtime } from "@credbridge/core";

/**
 * Waits for `promise` at most `ms` on the runtime's clock. On time-out the
 * caller gets ERR_TIMEOUT at once; the work itself goes on (a refresh keeps
 * running and later requests get its result).
 */
export const withDeadline = <T>(promise: Promise<T>, ms: number, rt: Runtime, name: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = rt.setTimer(
      () =>
        reject(
          new CredbridgeError(
            `${name}: no servable credentials within ${ms} ms; the refresh goes on, retry shortly`,
            { code: "ERR_TIMEOUT" },
          ),
        ),
      ms,
      { unref: true },
    );
    promise.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (error: unknown) => {
        timer.cancel();
        reject(error);
      },
    );
  });
