import { isCredbridgeError } from "@credbridge/core";
import { isCredentialsFileError } from "../errors.js";

/** A failure as status() shows it: no secret, no stack. */
export interface LastError {
  message: string;
  code: string | undefined;
  at: Date;
}

/** The refresher's counters, across its profiles: what status() reports besides each profile's own. */
export interface WriteLedger {
  writes: number;
  failures: number;
  consecutiveFailures: number;
  lastError: LastError | undefined;
  /** Failed removals of expired sections in a row: their own backoff, apart from the writes'. */
  removalFailures: number;
}

export const createWriteLedger = (): WriteLedger => ({
  writes: 0,
  failures: 0,
  consecutiveFailures: 0,
  lastError: undefined,
  removalFailures: 0,
});

const errorCode = (error: Error): string | undefined =>
  isCredentialsFileError(error) ? error.code : isCredbridgeError(error) ? error.code : error.name;

export const lastErrorOf = (error: Error, at: number): LastError => ({
  message: error.message,
  code: errorCode(error),
  at: new Date(at),
});

export const recordWriteFailure = (ledger: WriteLedger, error: Error, now: number): void => {
  ledger.failures++;
  ledger.consecutiveFailures++;
  ledger.lastError = lastErrorOf(error, now);
};
