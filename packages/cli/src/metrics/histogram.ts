/** What a histogram has observed. */
export interface HistogramSnapshot {
  /** Upper bounds, ascending, without `+Inf`. */
  buckets: readonly number[];
  /** Observations at or below each bound. */
  cumulative: readonly number[];
  sum: number;
  count: number;
}

/** A histogram over fixed upper bounds (seconds): observe, and snapshot for a scrape. */
export const createHistogram = (buckets: readonly number[]) => {
  for (let i = 1; i < buckets.length; i++) {
    if (!(buckets[i]! > buckets[i - 1]!)) throw new Error("histogram buckets must ascend");
  }
  const counts = new Array<number>(buckets.length).fill(0);
  let sum = 0;
  let count = 0;
  return {
    observe(value: number): void {
      // Non-cumulative per bucket; a value above every bound lands only in +Inf (count).
      const i = buckets.findIndex((le) => value <= le);
      if (i !== -1) counts[i]!++;
      sum += value;
      count++;
    },
    snapshot(): HistogramSnapshot {
      let running = 0;
      const cumulative = counts.map((n) => {
        running += n;
        return running;
      });
      return { buckets, cumulative, sum, count };
    },
  };
};

export type Histogram = ReturnType<typeof createHistogram>;
