import type { ServerResponse } from "node:http";

/**
 * Holds a response for a hang fault. Resolves true after `ms` if the client is
 * still there; without `ms`, resolves false only once the connection closes
 * (client abort or server close). Timers are tracked so close() can clear them.
 */
export const hold = (
  ms: number | undefined,
  res: ServerResponse,
  timers: Set<NodeJS.Timeout>,
): Promise<boolean> =>
  new Promise((resolve) => {
    if (ms === undefined) {
      res.once("close", () => resolve(false));
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve(!res.destroyed);
    }, ms);
    timers.add(timer);
  });
