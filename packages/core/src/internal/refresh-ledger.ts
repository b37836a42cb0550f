import { isCredbridgeError } from "../errors.js";

/** The engine's counters and last outcomes: what `state()` reports, minus the credentials. */
export interface RefreshLedger {
  refreshes: number;
  failures: number;
  consecutiveFailures: number;
  /** The source may not be called before this moment; 0 after a success. */
  nextAttemptAt: number;
  lastSuccessAt: number | undefined;
  lastAttemptAt: number | undefined;
  lastError: { message: string; code: string | undefined; at: number } | undefined;
}

export const createLedger = (): RefreshLedger => ({
  refreshes: 0,
  failures: 0,
  consecutiveFailures: 0,
  nextAttemptAt: 0,
  lastSuccessAt: undefined,
  lastAttemptAt: undefined,
  lastError: undefined,
});

export const recordSuccess = (ledger: RefreshLedger, now: number): void => {
  ledger.refreshes++;
  ledger.consecutiveFailures = 0;
  ledger.nextAttemptAt = 0;
  ledger.lastSuccessAt = now;
};

export const recordFailure = (ledger: RefreshLedger, now: number, error: Error, retryInMs: number): void => {
  ledger.failures++;
  ledger.consecutiveFailures++;
  ledger.nextAttemptAt = now + retryInMs;
  ledger.lastError = {
    message: error.message,
    code: isCredbridgeError(error) ? error.code : (error as { name?: string }).name,
    at: now,
  };
};
