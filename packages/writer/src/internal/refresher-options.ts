import { CredbridgeError } from "@credbridge/core";
import type { StartRefresherOptions } from "../refresher-types.js";

/** The refresher's own options resolved and checked (the file's are resolveFileRequest's). */
export const resolveRefresherOptions = (options: StartRefresherOptions) => {
  const retry = {
    initialDelayMs: options.retry?.initialDelayMs ?? 1_000,
    maxDelayMs: options.retry?.maxDelayMs ?? 60_000,
  };
  const minRemainingSeconds = options.minRemainingSeconds ?? options.refresh?.minRemainingSeconds ?? 0;
  if (!Number.isFinite(minRemainingSeconds) || minRemainingSeconds < 0) {
    throw new CredbridgeError(
      `writer: minRemainingSeconds must be a non-negative number of seconds, got ${minRemainingSeconds}`,
      { code: "ERR_CONFIG" },
    );
  }
  return { retry, minRemainingSeconds };
};
