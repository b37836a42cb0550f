/**
 * Bytes the server holds for its clients — request bodies being received,
 * answers not yet taken by the kernel — across all connections, within `max`.
 *
 * Only bytes actually held count: a head that declares 3 MiB and sends nothing
 * holds nothing. When a holding needs room that is not free, the oldest
 * holdings that began before it make room (each is evicted: its connection is
 * answered 503 or cut). An honest client sends its body, and reads its answer,
 * within milliseconds, so the oldest holders are the ones that stopped
 * half-way: whoever holds bytes back is the one to lose them, not the next
 * client. A holding is refused only when the room is held by younger holdings
 * or by bodies being answered.
 */
export interface ByteBudget {
  /**
   * A holding, empty until `take`; `evict` ends it to make room for a younger
   * one and must call its `release` before returning.
   */
  hold(evict: () => void): Holding;
  /** Bytes held now, all holdings together. */
  readonly held: number;
}

export interface Holding {
  /**
   * Takes `bytes` more, evicting older holdings if it must; false (nothing
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
  evict: () => void;
}

export const createByteBudget = (max: number): ByteBudget => {
  let held = 0;
  // Oldest first (insertion order).
  const holdings = new Set<Entry>();

  /** The oldest holding begun before `young` that holds bytes and may be evicted. */
  const oldestBefore = (young: Entry): Entry | undefined => {
    for (const h of holdings) {
      if (h === young) return undefined;
      if (!h.pinned && h.bytes > 0) return h;
    }
    return undefined;
  };

  const hold = (evict: () => void): Holding => {
    const entry: Entry = {
      bytes: 0,
      pinned: false,
      evict,
      take: (bytes) => {
        if (!holdings.has(entry)) return false;
        while (held + bytes > max) {
          const victim = oldestBefore(entry);
          if (victim === undefined) return false;
          victim.evict();
          // A cut connection closes on a later tick: its bytes come back now.
          victim.release();
        }
        entry.bytes += bytes;
        held += bytes;
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
    get held() {
      return held;
    },
  };
};
