/** How often and for which requests a queued fault applies. */
export interface FaultScope {
  /** How many matching requests the fault applies to; `Infinity` for all. Default 1. */
  times?: number;
  /** Apply only to requests for this action (STS `Action`); any request when unset. */
  action?: string;
}

interface Entry<F> {
  fault: F;
  remaining: number;
  action: string | undefined;
}

/**
 * A FIFO of faults consumed one per request. The first entry whose scope matches
 * the request wins, so `fail(Throttling)` then `fail(AccessDenied)` answers two
 * requests in that order, and an action-scoped fault waits for its action.
 */
export class FaultQueue<F> {
  readonly #entries: Entry<F>[] = [];

  push(fault: F, scope: FaultScope = {}): void {
    const times = scope.times ?? 1;
    if (!(times === Number.POSITIVE_INFINITY || (Number.isInteger(times) && times >= 1))) {
      throw new RangeError(`fault times must be a positive integer or Infinity, got ${times}`);
    }
    this.#entries.push({ fault, remaining: times, action: scope.action });
  }

  /** The fault for this request, if any, counting it as used. */
  take(action?: string): F | undefined {
    const index = this.#entries.findIndex((e) => e.action === undefined || e.action === action);
    if (index === -1) return undefined;
    const entry = this.#entries[index]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#entries.splice(index, 1);
    return entry.fault;
  }

  clear(): void {
    this.#entries.length = 0;
  }

  /** Faults still queued (an `Infinity` entry counts once). */
  get size(): number {
    return this.#entries.length;
  }
}
