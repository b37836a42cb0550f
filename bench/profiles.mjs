// Named profiles (#20): one `serve` with 1, 4 and 16 profiles against 1, 4 and
// 16 single-profile `serve` processes serving the same roles. Measured: the
// total RSS once every role is served, and the STS calls it took to get there.
// Calls per hour: simulated over 24 h with the real engines on a manual clock,
// wired as serve wires them (one source engine, one engine per profile on it;
// each single-profile process its own source and hop).
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { irsaIdentity, logLine, manualClock, root, rssOf, stop, workspace } from "./lib.mjs";

const CLI = join(root, "packages/cli/bin/credbridge.cjs");
const COUNTS = [1, 4, 16];
const roleOf = (i) => `arn:aws:iam::111122223333:role/role-${i}`;

/** Upstream calls per hour of one source engine with `n` profile engines on it, serve's windows, 1 h sessions. */
const callsPerHour = async (refreshing, n) => {
  const clock = manualClock();
  let calls = 0;
  const options = {
    minRemainingSeconds: 900,
    mandatoryWindowSeconds: 960,
    advisoryWindowSeconds: 1200,
    jitterSeconds: 60,
    runtime: clock.runtime,
  };
  const session = () => ({
    accessKeyId: "A",
    secretAccessKey: "S",
    sessionToken: "T",
    expiration: new Date(clock.now() + 3600_000),
  });
  const source = refreshing(async () => {
    calls++;
    return session();
  }, options);
  const profiles = Array.from({ length: n }, () =>
    refreshing(async () => {
      await source(); // the hop is signed by the source engine's cached credentials
      calls++;
      return session();
    }, options),
  );
  const engines = [source, ...profiles];
  for (const e of engines) e.start();
  await Promise.all(profiles.map((p) => p()));
  await clock.runFor(24 * 3600_000, 5);
  for (const e of engines) e.stop();
  return calls / 24;
};

/** Starts `serve` with `args`; resolves once its metrics say it is ready. */
const startServe = async (env, args) => {
  const child = spawn(process.execPath, [CLI, "serve", ...args, "--metrics", "127.0.0.1:0"], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const metrics = String((await logLine(child, "metrics listening")).url);
  for (let i = 0; i < 600; i++) {
    if ((await fetch(`${metrics}/readyz`)).status === 200) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("serve never became ready");
};

export async function run() {
  const { refreshing } = await workspace("core");
  const identity = await irsaIdentity("profiles");
  const { sts, dir } = identity;
  writeFileSync(join(dir, "ct"), "bench-container-token", { mode: 0o600 });
  const env = { PATH: process.env.PATH, HOME: dir, ...identity.env };
  const outputs = (name) => [
    "--credentials-file",
    join(dir, `${name}-credentials`),
    "--container-endpoint",
    "127.0.0.1:0",
    "--container-auth-token-file",
    join(dir, "ct"),
  ];
  const rows = [];
  const children = [];
  try {
    for (const n of COUNTS) {
      // One serve, n named profiles (one hop each) on the pod's one identity.
      sts.reset();
      const words = Array.from({ length: n }, (_, i) => `p${i}=${roleOf(i)}`).join(" ");
      const one = await startServe({ ...env, CREDBRIDGE_PROFILE_ASSUME_ROLE: words }, outputs(`one-${n}`));
      children.push(one);
      await new Promise((r) => setTimeout(r, 1_000));
      const oneRss = rssOf(one.pid);
      const oneCalls = sts.calls.length;
      await stop(one);

      // n single-profile processes, each its own source and hop.
      sts.reset();
      const many = [];
      for (let i = 0; i < n; i++) {
        const child = await startServe(env, [...outputs(`many-${n}-${i}`), "--assume-role", roleOf(i)]);
        many.push(child);
        children.push(child);
      }
      await new Promise((r) => setTimeout(r, 1_000));
      const manyRss = many.reduce((sum, c) => sum + rssOf(c.pid), 0);
      const manyCalls = sts.calls.length;
      for (const c of many) await stop(c);

      const shared = await callsPerHour(refreshing, n);
      const separate = n * (await callsPerHour(refreshing, 1));
      rows.push(
        {
          name: `profiles: RSS, 1 serve with ${n} profile${n > 1 ? "s" : ""} (file + container)`,
          value: Math.round(oneRss / 2 ** 20),
          unit: "MiB",
          peer: `${n} processes ${Math.round(manyRss / 2 ** 20)} MiB`,
          ratio: oneRss / manyRss,
        },
        {
          name: `profiles: STS calls to serve ${n} role${n > 1 ? "s" : ""} at start, 1 serve`,
          value: oneCalls,
          unit: "calls",
          peer: `${n} processes ${manyCalls}`,
          ratio: oneCalls / manyCalls,
        },
        {
          name: `profiles: STS calls/hour for ${n} role${n > 1 ? "s" : ""}, 1 serve (1 h sessions, simulated 24 h)`,
          value: Number(shared.toFixed(2)),
          unit: "calls/h",
          peer: `${n} processes ${separate.toFixed(2)}`,
          ratio: shared / separate,
        },
      );
    }
    return rows;
  } finally {
    for (const c of children) await stop(c);
    await sts.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
