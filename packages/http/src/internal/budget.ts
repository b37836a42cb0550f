/**
 * Bytes the server holds for its clients — request bodies being received,
 * answers the kernel has not taken — across all connections, within `max`.
 *
 * Only bytes actually held count: a head that declares 3 MiB and sends
 * nothing holds nothing. When room is needed, holdings that have stalled —
 * nothing more arrived (or nothing was taken) for `stalledMs` — make it, the
 * longest-stalled first, each evicted (its body answered 503, its connection
 * cut). An honest client sends its body, and takes its answer, without
 * pausing, so whoever holds bytes back is the one to lose them, not the next
 * client. Holdings still moving are never evicted: a newcomer that does not
 * fit beside them is refused before any of its bytes is read, so a flood of
 * bodies costs the server no more than `max` (reading them all, only to drop
 * them, would leave their bytes to the garbage collector).
 */
export interface ByteBudget {
  /**
   * A holding, empty until `take`; `evict` ends it to make room and must give
   * its bytes back (`release`) or have them given back when its connection closes.
   */
  hold(evict: () => void): Holding;
  /** Whether `bytes` more fit now, once stalled holdings made room (they are evicted). */
  room(bytes: number): boolean;
  /** Bytes held now, all holdings together. */
  readonly held: number;
}

export interface Holding {
  /**
   * Takes `bytes` more, evicting stalled holdings if it must; false (nothing
   * taken) when they cannot make room, or the holding is over.
   */
  take(bytes: number): boolean;
  /** Gives everything back; the holding is over. Idempotent. */
  release(): void;
  /** Set while its bytes are being answered: it is not evicted then. */
  pinned: boolean;
}

interface Entry extends Holding {
  bytes: number;
  /** When it last took bytes. */
  movedAt: number;
  evict: () => void;
}

export interface BudgetRules {
  max: number;
  /** A holding that took nothing for this long may be evicted. */
  stalledMs: number;
  /** Milliseconds on a monotonic clock. */
  now: () => number;
}

export const createByteBudget = ({ max, stalledMs, now }: BudgetRules): ByteBudget => {
  let held = 0;
  // Insertion order; re-inserted on every take, so the first is the longest-stalled.
  const holdings = new Set<Entry>();

  const stalled = (): Entry | undefined => {
    const limit = now() - stalledMs;
    for (const h of holdings) {
      if (h.movedAt > limit) return undefined;
      if (!h.pinned && h.bytes > 0) return h;
    }
    return undefined;
  };

  const room = (bytes: number): boolean => {
    while (held + bytes > max) {
      const victim = stalled();
      if (victim === undefined) return false;
      victim.evict();
      // A cut connection closes on a later tick: its bytes come back now.
      victim.release();
    }
    return true;
  };

  const hold = (evict: () => void): Holding => {
    const entry: Entry = {
      bytes: 0,
      movedAt: now(),
      pinned: false,
      evict,
      take: (bytes) => {
        if (!holdings.has(entry) || !room(bytes)) return false;
        entry.bytes += bytes;
        held += bytes;
        entry.movedAt = now();
        holdings.delete(entry);
        holdings.add(entry);
        return true;
      },
      release: () => {
        if (!holdings.delete(entry)) return;
        held -= entry.bytes;
        entry.bytes = 0;
      },
    };
    holdings.add(entry);
    return entry;
  };

  return {
    hold,
    room,
    get held() {
      return held;
    },
  };
};
