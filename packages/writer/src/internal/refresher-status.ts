import type { RefresherStatus } from "../refresher-types.js";
import { isHealthy } from "./refresher-decision.js";
import type { Slot } from "./refresher-slots.js";
import type { WriteLedger } from "./write-ledger.js";

export interface StatusInput {
  path: string;
  profile: string;
  /** `profile`'s slot first. */
  slots: readonly Slot[];
  ledger: WriteLedger;
  writing: boolean;
  stopped: boolean;
  minRemainingSeconds: number;
  now: number;
}

const at = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

/** The refresher's status: its own counters, and each profile's. Holds no secret. */
export const refresherStatus = (input: StatusInput): RefresherStatus => {
  const { slots, ledger, stopped, now, minRemainingSeconds } = input;
  const main = slots[0]!;
  const healthyAt = (slot: Slot) => isHealthy(slot, stopped, now, minRemainingSeconds);
  return {
    path: input.path,
    profile: input.profile,
    lastWriteAt: at(main.lastWriteAt),
    expirationWritten: main.expirationWritten,
    lastError: ledger.lastError,
    writes: ledger.writes,
    failures: ledger.failures,
    consecutiveFailures: ledger.consecutiveFailures,
    writing: input.writing,
    stopped,
    healthy: slots.every(healthyAt),
    minRemainingSeconds,
    refresh: main.engine.state(),
    profiles: slots.map((slot) => ({
      profile: slot.profile,
      lastWriteAt: at(slot.lastWriteAt),
      expirationWritten: slot.expirationWritten,
      lastError: slot.lastError,
      healthy: healthyAt(slot),
      refresh: slot.engine.state(),
    })),
  };
};
