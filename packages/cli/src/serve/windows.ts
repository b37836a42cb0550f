import { windowsFor } from "@credbridge/core";
import { UsageError } from "../args/usage-error.js";

/**
 * `serve`'s refresh windows, core's for its margin: callers wait for a
 * refresh (and /readyz fails) from a minute before the margin, background
 * refreshes start five minutes before it, up to a minute later for jitter.
 * The engine shrinks them for sessions too short to hold them.
 */
export const serveWindows = (minRemainingSeconds: number) => ({
  ...windowsFor(minRemainingSeconds),
  jitterSeconds: 60,
});

export type ServeWindows = ReturnType<typeof serveWindows>;

/**
 * The longest refresh that still ends before the mandatory window when it
 * starts at the latest background moment (the advisory start less its
 * jitter; the engine never jitters past halfway to the mandatory window).
 */
export const longestRefreshSeconds = (w: ServeWindows): number => {
  const jitter = Math.min(w.jitterSeconds, (w.advisoryWindowSeconds - w.mandatoryWindowSeconds) / 2);
  return w.advisoryWindowSeconds - jitter - w.mandatoryWindowSeconds;
};

/**
 * Refuses a `--refresh-timeout` a background refresh could not finish within
 * before the mandatory window: one hung attempt would carry the sidecar into
 * it (not ready, callers waiting) before a second could start, and the
 * CredentialsExpiring alert, which allows one refresh at this timeout, would
 * fire on every healthy rotation.
 */
export const checkRefreshTimeout = (refreshTimeoutSeconds: number | undefined, w: ServeWindows): void => {
  if (refreshTimeoutSeconds === undefined) return;
  const longest = longestRefreshSeconds(w);
  if (refreshTimeoutSeconds <= longest) return;
  const m = w.minRemainingSeconds;
  const latestStart = w.mandatoryWindowSeconds + longest;
  throw new UsageError(
    `--refresh-timeout ${refreshTimeoutSeconds} is longer than a refresh can take before the sidecar turns unready: ` +
      `with --min-remaining ${m}, serve starts refreshing in the background ${latestStart}–${w.advisoryWindowSeconds} s before expiry ` +
      `(${latestStart - m}–${w.advisoryWindowSeconds - m} s before the margin), and from ${w.mandatoryWindowSeconds} s before expiry ` +
      `(${w.mandatoryWindowSeconds - m} s before the margin) /readyz fails and callers wait. Give --refresh-timeout at most ${longest}.`,
    "serve",
  );
};
