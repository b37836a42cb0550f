/**
 * Bytes of request bodies held in memory across all requests: a reservation
 * that does not fit is refused, so held bodies cannot outgrow the process's
 * memory however many clients send them.
 */
export interface ByteBudget {
  /** Takes `bytes` if they fit; false (nothing taken) otherwise. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
  readonly held: number;
}

export const createByteBudget = (max: number): ByteBudget => {
  let held = 0;
  return {
    reserve: (bytes) => {
      if (held + bytes > max) return false;
      held += bytes;
      return true;
    },
    release: (bytes) => {
      held -= bytes;
    },
    get held() {
      return held;
    },
  };
};
