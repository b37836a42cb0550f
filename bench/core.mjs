// @credbridge/core: the cached hot path against @smithy/property-provider's
// memoize over the same source, and single-flight upstream counts.
import { performance } from "node:perf_hooks";
import { dependencyOf, median, workspace } from "./lib.mjs";

const CALLS = 200_000;
const ROUNDS = 7;

const source = async () => ({
  accessKeyId: "ASIABENCHMARK0000001",
  secretAccessKey: "secret",
  sessionToken: "token",
  expiration: new Date(Date.now() + 3600_000),
});

const opsPerSecond = async (provider) => {
  const start = performance.now();
  for (let i = 0; i < CALLS; i++) await provider();
  return CALLS / ((performance.now() - start) / 1000);
};

export async function run() {
  const { refreshing } = await workspace("core");
  const { memoize } = await dependencyOf("core", "@smithy/property-provider");
  const ours = refreshing(source);
  // memoize as the SDK uses it: expired at expiration, refresh 5 minutes before.
  const theirs = memoize(
    source,
    (c) => c.expiration.getTime() - Date.now() < 300_000,
    (c) => c.expiration !== undefined,
  );
  await ours();
  await theirs();
  await opsPerSecond(ours); // warm both before measuring
  await opsPerSecond(theirs);
  const a = [];
  const b = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order so drift on a shared machine hits both alike.
    if (r % 2) {
      a.push(await opsPerSecond(ours));
      b.push(await opsPerSecond(theirs));
    } else {
      b.push(await opsPerSecond(theirs));
      a.push(await opsPerSecond(ours));
    }
  }
  const oursMedian = median(a);
  const theirsMedian = median(b);

  // Single flight at start and at a refresh inside the mandatory window.
  let clock = Date.now();
  let upstream = 0;
  const slow = async () => {
    upstream++;
    await new Promise((r) => setTimeout(r, 5));
    return { ...(await source()), expiration: new Date(clock + 3600_000) };
  };
  const engine = refreshing(slow, { runtime: { now: () => clock } });
  await Promise.all(Array.from({ length: 1000 }, () => engine()));
  const atStart = upstream;
  clock += 55 * 60_000;
  await Promise.all(Array.from({ length: 1000 }, () => engine()));
  const atRefresh = upstream - atStart;

  return [
    {
      name: "core: cached provider() calls/s",
      value: Math.round(oursMedian),
      unit: "calls/s",
      peer: `memoize ${Math.round(theirsMedian)}`,
      ratio: oursMedian / theirsMedian,
      goal: "ratio ≥ 0.8",
      pass: oursMedian / theirsMedian >= 0.8,
    },
    {
      name: "core: upstream calls, 1000 callers at start",
      value: atStart,
      unit: "calls",
      goal: "= 1",
      pass: atStart === 1,
    },
    {
      name: "core: upstream calls, 1000 callers at a refresh",
      value: atRefresh,
      unit: "calls",
      goal: "= 1",
      pass: atRefresh === 1,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
