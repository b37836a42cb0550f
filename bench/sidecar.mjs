// The sidecar as operators run it: RSS idle and under IMDS load, and STS calls
// per hour against the seed's shell loop (`aws sts assume-role` every 30 min).
import { execFile, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { irsaIdentity, logLine, manualClock, root, rssOf, workspace } from "./lib.mjs";

const CLI = join(root, "packages/cli/bin/credbridge.cjs");
const LOAD_SECONDS = 5;

/** Refreshes per simulated day of the engine exactly as `serve` configures it, on a manual clock. */
const refreshesPerHour = async (refreshing, lifetimeSeconds) => {
  const clock = manualClock();
  let calls = 0;
  const engine = refreshing(
    async () => {
      calls++;
      return {
        accessKeyId: "A",
        secretAccessKey: "S",
        sessionToken: "T",
        expiration: new Date(clock.now() + lifetimeSeconds * 1000),
      };
    },
    {
      minRemainingSeconds: 900,
      mandatoryWindowSeconds: 960,
      advisoryWindowSeconds: 1200,
      runtime: clock.runtime,
    },
  );
  engine.start();
  await new Promise((r) => setImmediate(r));
  await clock.runFor(24 * 3600_000);
  engine.stop();
  return calls / 24;
};

export async function run() {
  const { refreshing } = await workspace("core");
  const { sts, dir, env } = await irsaIdentity("sidecar");
  const child = spawn(
    process.execPath,
    [
      CLI,
      "serve",
      "--self-assume",
      "--credentials-file",
      join(dir, "credentials"),
      "--imds",
      "127.0.0.1:0",
      "--container-endpoint",
      "127.0.0.1:0",
      "--container-auth-token-file",
      join(dir, "ct"),
      "--metrics",
      "127.0.0.1:0",
      "--log-level",
      "info",
    ],
    {
      env: { PATH: process.env.PATH, HOME: dir, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  try {
    const imds = String((await logLine(child, "IMDS listening")).url);
    await logLine(child, "metrics listening");
    await new Promise((r) => setTimeout(r, 2_000));
    const idle = rssOf(child.pid);
    const token = await (
      await fetch(`${imds}/latest/api/token`, {
        method: "PUT",
        headers: { "x-aws-ec2-metadata-token-ttl-seconds": "600" },
      })
    ).text();
    const role = await (
      await fetch(`${imds}/latest/meta-data/iam/security-credentials/`, {
        headers: { "x-aws-ec2-metadata-token": token },
      })
    ).text();
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(child.pid));
    }, 200);
    const { stdout } = await promisify(execFile)("/usr/bin/wrk", [
      "-t1",
      "-c32",
      `-d${LOAD_SECONDS}s`,
      "-H",
      `x-aws-ec2-metadata-token: ${token}`,
      `${imds}/latest/meta-data/iam/security-credentials/${role}`,
    ]);
    clearInterval(sampler);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
    const stsCallsDuringLoad = sts.calls.length;

    const plain = await refreshesPerHour(refreshing, 3600);
    // Self-assume: one AssumeRole per refresh, and the web-identity session that
    // signs it is renewed when it nears its own one-hour end: at most two calls per refresh.
    const sidecar = plain * 2;
    const loop = 2 * 2; // every 30 min: the CLI's own AssumeRoleWithWebIdentity, then AssumeRole
    return [
      {
        name: "sidecar: RSS idle (file + IMDS + container + metrics)",
        value: Math.round(idle / 2 ** 20),
        unit: "MiB",
      },
      {
        name: `sidecar: peak RSS under IMDS load (${Math.round(rps)} req/s, wrk -c32)`,
        value: Math.round(peak / 2 ** 20),
        unit: "MiB",
        goal: "≤ 80 MiB",
        pass: peak <= 80 * 2 ** 20,
      },
      {
        name: "sidecar: STS calls during the load (all served from cache)",
        value: stsCallsDuringLoad,
        unit: "calls",
        note: "web identity + self-assume at start",
      },
      {
        name: "sidecar: STS calls/hour, 1 h sessions, IRSA + self-assume (upper bound)",
        value: Number(sidecar.toFixed(2)),
        unit: "calls/h",
        peer: `shell loop ${loop}`,
        ratio: sidecar / loop,
        note: `${plain.toFixed(2)} refreshes/h simulated over 24 h with serve's windows`,
      },
    ];
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.on("close", r));
    await sts.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
