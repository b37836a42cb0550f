import type { Logger } from "@smithy/types";

/** How long the same failure stays quiet after it was logged. */
export const REPEAT_WARNING_MS = 60_000;

/**
 * A warning logged per failed request would let anyone who can reach the
 * endpoint fill the log while a chain fails (thousands of lines a second).
 * Per `key` (a route): the first warning is logged at once, then at most one
 * per `intervalMs`, saying how many were left out meanwhile (the refresh
 * engine logs each failed refresh itself). Keys are the server's own routes,
 * so the memory is bounded.
 */
export const limitedWarnings = (
  logger: Logger | undefined,
  now: () => number,
  intervalMs = REPEAT_WARNING_MS,
): ((key: string, message: string) => void) => {
  const last = new Map<string, { at: number; left: number }>();
  return (key, message) => {
    if (!logger) return;
    const t = now();
    const seen = last.get(key);
    if (seen && t - seen.at < intervalMs) {
      seen.left++;
      return;
    }
    const left =
      seen && seen.left > 0
        ? ` (${seen.left} more in the last ${Math.round((t - seen.at) / 1000)} s not logged)`
        : "";
    last.set(key, { at: t, left: 0 });
    logger.warn(`${message}${left}`);
  };
};
