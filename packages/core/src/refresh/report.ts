import type { AwsCredentialIdentity, Logger } from "@smithy/types";
import { maskAccessKeyId } from "../redact.js";
import type { RefreshReason } from "./decision.js";
import { mayCallAtWall, type RefreshLedger } from "./ledger.js";
import type { RefreshEvent } from "./types.js";
import type { Cached } from "./windows.js";

/**
 * How the engine tells its listeners and logger what happened: events carry
 * the new credentials (for writers and servers), log lines only the masked key.
 */
export const createReporter = (
  name: string,
  emit: (event: RefreshEvent) => void,
  logger: Logger | undefined,
) => ({
  started(reason: RefreshReason, at: number): void {
    emit({ type: "refresh-start", name, reason, at: new Date(at) });
  },

  succeeded(reason: RefreshReason, credentials: AwsCredentialIdentity, startedAt: number, now: number): void {
    const { expiration } = credentials;
    logger?.debug?.(
      `credbridge: ${name} refreshed (${reason}), key ${maskAccessKeyId(credentials.accessKeyId)}, expires ${expiration?.toISOString() ?? "never"}`,
    );
    const at = new Date(now);
    emit({
      type: "refresh-success",
      name,
      reason,
      at,
      credentials,
      expiration,
      durationMs: now - startedAt,
    });
  },

  failed(
    reason: RefreshReason,
    error: Error,
    ledger: RefreshLedger,
    still: Cached | undefined,
    startedAt: number,
    now: number,
    monotonic: number,
  ): void {
    const serving = still
      ? `serving cached credentials valid until ${new Date(still.schedule?.usableUntil ?? 0).toISOString()}`
      : "no valid credentials to serve";
    const { consecutiveFailures } = ledger;
    const nextAttemptAt = mayCallAtWall(ledger, now, monotonic);
    const retryIn = Math.round((nextAttemptAt - now) / 1000);
    const line = `credbridge: refresh of ${name} failed (${reason}, ${consecutiveFailures} in a row): ${error.message}; ${serving}; retrying in ${retryIn} s`;
    if (still) logger?.warn(line);
    else logger?.error(line);
    emit({
      type: "refresh-failure",
      name,
      reason,
      at: new Date(now),
      error,
      durationMs: now - startedAt,
      consecutiveFailures,
      retryAt: new Date(nextAttemptAt),
      servingCached: still !== undefined,
    });
  },
});
