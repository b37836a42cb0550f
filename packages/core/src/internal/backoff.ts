export interface BackoffOptions {
  /** First delay, in milliseconds. Default 1 000. */
  initialDelayMs?: number | undefined;
  /** Largest delay, in milliseconds. Default 300 000 (5 minutes). */
  maxDelayMs?: number | undefined;
}

/**
 * Exponential backoff with "equal jitter": half the exponential delay is fixed,
 * half random, so retries grow but a fleet that failed together spreads out.
 */
export const backoffDelay = (attempt: number, random: () => number, options: BackoffOptions = {}): number => {
  const initial = options.initialDelayMs ?? 1_000;
  const max = options.maxDelayMs ?? 300_000;
  const ceiling = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
};
