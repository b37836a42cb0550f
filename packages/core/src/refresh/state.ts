import { maskAccessKeyId } from "../redact.js";
import { type Cached, windowsOf } from "./accept-credentials.js";
import { statusAt } from "./decision.js";
import { mayCallAtWall, type RefreshLedger } from "./ledger.js";
import type { RefreshState } from "./types.js";

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
  source: string,
  cached: Cached | undefined,
  ledger: RefreshLedger,
  attempts: AttemptFacts,
  now: number,
  monotonic: number,
): RefreshState => {
  const failing = ledger.consecutiveFailures > 0;
  const { lastError } = ledger;
  return {
    source,
    status: statusAt(windowsOf(cached), now),
    expiration: cached?.credentials.expiration,
    accessKeyId: cached ? maskAccessKeyId(cached.credentials.accessKeyId) : undefined,
    lastSuccessAt: toDate(ledger.lastSuccessAt),
    lastAttemptAt: toDate(ledger.lastAttemptAt),
    lastError: lastError && { ...lastError, at: new Date(lastError.at), current: failing },
    consecutiveFailures: ledger.consecutiveFailures,
    nextRefreshAt: toDate(
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
