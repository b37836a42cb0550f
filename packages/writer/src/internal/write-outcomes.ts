import { type BackoffOptions, backoffDelay, type Runtime } from "@credbridge/core";
import { failureVerdict } from "./refresher-decision.js";
import type { RefresherReporter } from "./refresher-report.js";
import { everyWritten, type Slot } from "./refresher-slots.js";
import { recordWriteFailure, type WriteLedger } from "./write-ledger.js";

export interface OutcomeDeps {
  rt: Pick<Runtime, "now" | "random">;
  slots: readonly Slot[];
  ledger: WriteLedger;
  report: RefresherReporter;
  /** The backoff between failed writes, and between failed removals. */
  retry: BackoffOptions;
  /** Re-arms a profile's expiry alarm for what its section now holds. */
  watch(slot: Slot, expiration: Date | undefined): void;
  /** Every profile is written: `ready()` resolves. */
  allWritten(): void;
}

export type OutcomeRecorder = ReturnType<typeof createOutcomeRecorder>;

/**
 * Records what a write or a removal came to, in the ledger and each
 * profile's state, re-arms the expiry alarms, and reports it. The write
 * loop decides what to try; this says how it went.
 */
export const createOutcomeRecorder = (deps: OutcomeDeps) => {
  const { rt, ledger, report } = deps;
  return {
    /** One successful write. `held`: when the credentials the profile now holds expire (later ones another writer put there, maybe). */
    wrote(written: readonly { slot: Slot; held: Date | undefined }[]): void {
      ledger.writes++;
      for (const { slot, held } of written) {
        const now = rt.now();
        ledger.consecutiveFailures = 0;
        slot.lastWriteAt = now;
        slot.lastError = undefined;
        slot.expirationWritten = held;
        deps.watch(slot, held);
        report.wrote(slot.profile, held, now);
        if (everyWritten(deps.slots)) deps.allWritten();
      }
    },

    /**
     * One failed write of `failing` (every profile it carried); returns the
     * backoff delay when `retrying`, else undefined: the profiles wait for new
     * credentials instead.
     */
    failed(failing: readonly Slot[], error: Error, retrying: boolean): number | undefined {
      const now = rt.now();
      recordWriteFailure(ledger, error, now);
      const delay = retrying ? backoffDelay(ledger.consecutiveFailures, rt.random, deps.retry) : undefined;
      const retryAt = delay === undefined ? undefined : new Date(now + delay);
      for (const slot of failing) {
        slot.lastError = ledger.lastError;
        report.writeFailed({
          profile: slot.profile,
          error,
          consecutiveFailures: ledger.consecutiveFailures,
          retryAt,
          written: slot.expirationWritten,
          verdict: failureVerdict(slot, retryAt),
          now,
        });
      }
      return delay;
    },

    /** Expired sections removed from the file: those profiles hold nothing now. */
    removed(removed: readonly Slot[]): void {
      ledger.removalFailures = 0;
      for (const slot of removed) {
        const expired = slot.expirationWritten;
        slot.lastWriteAt = undefined;
        slot.expirationWritten = undefined;
        slot.lastError = {
          message: `its credentials expired at ${expired?.toISOString()} and were removed from the file`,
          code: "ERR_EXPIRED",
          at: new Date(rt.now()),
        };
        report.removedExpired(slot.profile, expired);
      }
    },

    /** A failed removal of expired sections; returns the backoff before the next try. */
    removalFailed(due: readonly Slot[], error: Error): number {
      ledger.removalFailures++;
      report.removalFailed(
        due.map((s) => s.profile),
        error,
      );
      return backoffDelay(ledger.removalFailures, rt.random, deps.retry);
    },
  };
};
