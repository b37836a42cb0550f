export interface BackoffOptions {
  /** First delay, in milliseconds. */
  initialDelayMs: number;
  /** Largest delay, in milliseconds. */
  maxDelayMs: number;
  /** Growth per attempt. Default 2. */
  factor?: number | undefined;
}

/**
 * Exponential backoff with "equal jitter", as core's refresh engine uses: half
 * the delay fixed, half random, so writers that collided spread out.
 */
export const backoffDelay = (attempt: number, random: () => number, options: BackoffOptions): number => {
  const ceiling = Math.min(
    options.maxDelayMs,
    options.initialDelayMs * (options.factor ?? 2) ** Math.max(0, attempt - 1),
  );
  return ceiling / 2 + random() * (ceiling / 2);
};
