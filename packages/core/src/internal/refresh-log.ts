import type { AwsCredentialIdentity } from "@smithy/types";
import { maskAccessKeyId } from "../redact.js";
import type { Cached } from "./accept-credentials.js";
import type { RefreshReason } from "./refresh-decision.js";
import type { RefreshLedger } from "./refresh-ledger.js";

/** The engine's log lines: the masked key and times, never a secret. */
export const refreshSuccessMessage = (
  name: string,
  reason: RefreshReason,
  c: AwsCredentialIdentity,
): string =>
  `credbridge: ${name} refreshed (${reason}), key ${maskAccessKeyId(c.accessKeyId)}, expires ${c.expiration?.toISOString() ?? "never"}`;

export const refreshFailureMessage = (
  name: string,
  reason: RefreshReason,
  error: Error,
  ledger: RefreshLedger,
  still: Cached | undefined,
  now: number,
): string => {
  const serving = still
    ? `serving cached credentials valid until ${new Date(still.schedule?.usableUntil ?? 0).toISOString()}`
    : "no valid credentials to serve";
  const retryIn = Math.round((ledger.nextAttemptAt - now) / 1000);
  return `credbridge: refresh of ${name} failed (${reason}, ${ledger.consecutiveFailures} in a row): ${error.message}; ${serving}; retrying in ${retryIn} s`;
};
