import type { Schedule } from "./windows.js";

/** Why a refresh started. */
export type RefreshReason = "initial" | "expired" | "advisory" | "mandatory" | "scheduled" | "forced";

/** Where the cached credentials stand, relative to their windows. */
export type RefreshStatus = "empty" | "fresh" | "advisory" | "mandatory" | "expired";

/** Everything the engine's decision depends on: no clock, no promise, no I/O. */
export interface DecisionInput {
  /** The wall clock: where the windows (expirations) are. */
  now: number;
  /** The monotonic clock: where `mayCallAt` is. */
  monotonic: number;
  /** The cached credentials' windows; `"static"` for credentials that never expire; undefined when none. */
  cached: Schedule | "static" | undefined;
  /** A refresh is running. */
  inflight: boolean;
  /**
   * The source may not be called before `mayCallAt` on the monotonic clock
   * nor `mayCallAtWall` on the wall clock, whichever comes first: the backoff
   * after failures, the floor after a success (see ledger.ts).
   */
  mayCallAt: number;
  mayCallAtWall: number;
  /**
   * Whether the caller may wait for a refresh inside the mandatory window.
   * Servers pass false: while cached credentials are usable they answer at once.
   */
  mayWait: boolean;
}

/**
 * What to do with one call:
 * - `cached`: return the cached credentials;
 * - `cached-and-refresh`: return them and start a background refresh;
 * - `join`: wait for the running refresh;
 * - `refresh`: start a refresh and wait for it;
 * - `refuse`: nothing usable is cached and the backoff (or the floor) forbids calling the source.
 * `join` and `refresh` fall back to the cached credentials if the refresh fails
 * while they are still usable (stale-if-error).
 */
export type Decision =
  | { action: "cached" }
  | { action: "cached-and-refresh"; reason: "advisory" | "mandatory" }
  | { action: "join" }
  | { action: "refresh"; reason: "initial" | "expired" | "mandatory" }
  | { action: "refuse" };

/** Where cached credentials with these windows stand at `now`. */
export const statusAt = (cached: DecisionInput["cached"], now: number): RefreshStatus => {
  if (cached === undefined) return "empty";
  if (cached === "static") return "fresh";
  if (now >= cached.usableUntil) return "expired";
  if (now >= cached.mandatoryAt) return "mandatory";
  return now >= cached.refreshAt ? "advisory" : "fresh";
};

/** Whether the source may be called now: the wait is over on either clock. */
const mayCallNow = (
  ledger: Pick<DecisionInput, "mayCallAt" | "mayCallAtWall">,
  now: number,
  monotonic: number,
) => monotonic >= ledger.mayCallAt || now >= ledger.mayCallAtWall;

const CACHED: Decision = { action: "cached" };
const JOIN: Decision = { action: "join" };
const REFUSE: Decision = { action: "refuse" };

/** The refresh engine's whole policy, as a pure function of its state. */
export const decide = (input: DecisionInput): Decision => {
  const { now, cached, inflight, mayWait } = input;
  const mayCall = !inflight && mayCallNow(input, now, input.monotonic);
  const status = statusAt(cached, now);
  switch (status) {
    case "fresh":
      return CACHED;
    case "advisory":
      return mayCall ? { action: "cached-and-refresh", reason: "advisory" } : CACHED;
    case "mandatory":
      if (!mayWait) return mayCall ? { action: "cached-and-refresh", reason: "mandatory" } : CACHED;
      if (inflight) return JOIN;
      return mayCall ? { action: "refresh", reason: "mandatory" } : CACHED;
    default:
      if (inflight) return JOIN;
      return mayCall ? { action: "refresh", reason: status === "empty" ? "initial" : "expired" } : REFUSE;
  }
};
