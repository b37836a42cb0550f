import { isCredbridgeError } from "../errors.js";
import { maskAccessKeyId } from "../redact.js";
import { statusAt } from "./decision.js";
import type { RefreshState } from "./types.js";
import { type Cached, windowsOf } from "./windows.js";

/** The engine's counters and last outcomes: what `state()` reports, minus the credentials. */
export interface RefreshLedger {
  refreshes: number;
  failures: number;
  consecutiveFailures: number;
  /**
   * The source may not be called before this moment on the monotonic clock,
   * nor before `mayCallAtWall` on the wall clock, whichever comes first: the
   * backoff after a failure, or the floor after a success. On the wall clock
   * alone a step back would hold refreshes back by the step (an hour's NTP
   * step: an hour without a refresh); on the monotonic clock alone a suspend
   * (which it does not count) would add what was left of the wait on resuming.
   */
  mayCallAt: number;
  mayCallAtWall: number;
  /** The floor this success set: why no refresh may start yet, though none failed. */
  floorMs: number;
  lastSuccessAt: number | undefined;
  lastAttemptAt: number | undefined;
  lastError: { message: string; code: string | undefined; at: number } | undefined;
}

export const createLedger = (): RefreshLedger => ({
  refreshes: 0,
  failures: 0,
  consecutiveFailures: 0,
  mayCallAt: Number.NEGATIVE_INFINITY,
  mayCallAtWall: Number.NEGATIVE_INFINITY,
  floorMs: 0,
  lastSuccessAt: undefined,
  lastAttemptAt: undefined,
  lastError: undefined,
});

/** `now` on the wall clock (for reports), `monotonic` for the floor. */
export const recordSuccess = (
  ledger: RefreshLedger,
  now: number,
  monotonic: number,
  floorMs: number,
): void => {
  ledger.refreshes++;
  ledger.consecutiveFailures = 0;
  ledger.mayCallAt = monotonic + floorMs;
  ledger.mayCallAtWall = now + floorMs;
  ledger.floorMs = floorMs;
  ledger.lastSuccessAt = now;
};

export const recordFailure = (
  ledger: RefreshLedger,
  now: number,
  monotonic: number,
  error: Error,
  retryInMs: number,
): void => {
  ledger.failures++;
  ledger.consecutiveFailures++;
  ledger.mayCallAt = monotonic + retryInMs;
  ledger.mayCallAtWall = now + retryInMs;
  ledger.floorMs = 0;
  ledger.lastError = {
    message: error.message,
    code: isCredbridgeError(error) ? error.code : (error as { name?: string }).name,
    at: now,
  };
};

/** When the source may next be called, as a wall-clock moment: for reports, messages and timers. */
export const mayCallAtWall = (ledger: RefreshLedger, now: number, monotonic: number): number =>
  Math.max(now, Math.min(ledger.mayCallAtWall, now + (ledger.mayCallAt - monotonic)));

const toDate = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

/** What the engine knows of its attempts beyond the ledger. */
export interface AttemptFacts {
  refreshingForMs: number | undefined;
  attemptTimeoutMs: number;
  abandonedAttempts: number;
  started: boolean;
  timerLateMs: number | undefined;
}

/** The engine's state as `state()` reports it: no secret. */
export const snapshot = (
  name: string,
  cached: Cached | undefined,
  ledger: RefreshLedger,
  attempts: AttemptFacts,
  now: number,
  monotonic: number,
): RefreshState => {
  const failing = ledger.consecutiveFailures > 0;
  const { lastError } = ledger;
  return {
    name,
    status: statusAt(windowsOf(cached), now),
    expiration: cached?.credentials.expiration,
    accessKeyId: cached ? maskAccessKeyId(cached.credentials.accessKeyId) : undefined,
    lastSuccessAt: toDate(ledger.lastSuccessAt),
    lastAttemptAt: toDate(ledger.lastAttemptAt),
    lastError: lastError && { ...lastError, at: new Date(lastError.at), current: failing },
    consecutiveFailures: ledger.consecutiveFailures,
    refreshAt: toDate(
      failing
        ? mayCallAtWall(ledger, now, monotonic)
        : cached?.schedule && Math.max(cached.schedule.refreshAt, mayCallAtWall(ledger, now, monotonic)),
    ),
    mandatoryAt: toDate(cached?.schedule?.mandatoryAt),
    refreshing: attempts.refreshingForMs !== undefined,
    ...attempts,
    refreshes: ledger.refreshes,
    failures: ledger.failures,
  };
};
