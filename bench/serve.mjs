// The whole `credbridge serve` as a new user runs it — credentials file, IMDS,
// container endpoint and metrics, on a Pod Identity source (the emulators'
// agent) with 1-hour credentials — against bare node:http answering a fixed
// 1 KB JSON body on the same Node binary, for each Node version (lib.mjs's
// nodeBinaries). Both servers run in their own processes; `wrk -t2 -c50` loads
// them in alternating rounds and the median round counts.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cpuUs,
  median,
  mib,
  nodeBinaries,
  peakRssOf,
  root,
  rssOf,
  run1,
  stop,
  toMs,
  waitForLine,
  workspace,
} from "./lib.mjs";

const CLI = join(root, "packages/cli/bin/credbridge.cjs");
const BARE = join(root, "bench/peers/bare-http.mjs");
const WRK = "/usr/bin/wrk";
const SECONDS = Number(process.env.BENCH_DURATION_S ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const IDLE_MS = 3_000;
// Node/V8 flags for serve alone, to measure one beside the default (e.g. --max-semi-space-size=1).
const SERVE_FLAGS = (process.env.BENCH_SERVE_FLAGS ?? "").split(" ").filter(Boolean);

/**
 * One `wrk -t2 -c50` run: requests/s, p99 in ms, and the server's CPU per
 * request in µs (the figure least moved by neighbours on a shared machine).
 */
const wrk = async (target, seconds) => {
  const cpuBefore = cpuUs(target.pid);
  const args = ["-t2", "-c50", `-d${seconds}s`, "--latency"];
  for (const [k, v] of Object.entries(target.headers)) args.push("-H", `${k}: ${v}`);
  const out = await run1(WRK, [...args, target.url]);
  const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1];
  if (errors) throw new Error(`${target.url}: ${errors} non-2xx responses under load`);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p99: p99 ? toMs(p99[1], p99[2]) : Number.NaN,
    cpu: (cpuUs(target.pid) - cpuBefore) / total,
  };
};

/** Starts `credbridge serve` with every output on `node` and resolves once all listen. */
const startServe = async (node, dir, agent) => {
  writeFileSync(join(dir, "pod-token"), agent.token);
  const child = spawn(
    node,
    [
      ...SERVE_FLAGS,
      CLI,
      "serve",
      "--credentials-file",
      join(dir, "credentials"),
      "--imds",
      "127.0.0.1:0",
      "--container-endpoint",
      "127.0.0.1:0",
      "--container-auth-token-file",
      join(dir, "container-token"),
      "--metrics",
      "127.0.0.1:0",
    ],
    {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        AWS_REGION: "us-east-1",
        // What EKS Pod Identity puts in a pod.
        AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.credentialsUrl,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, "pod-token"),
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  const urls = {};
  await waitForLine(
    child,
    "stderr",
    (l) => {
      if (l.msg === "IMDS listening") urls.imds = l.url;
      if (l.msg === "container credentials endpoint listening") urls.container = l.url;
      return l.msg === "metrics listening" ? true : undefined;
    },
    "ready serve",
  );
  return { child, ...urls };
};

const startBare = async (node) => {
  const child = spawn(node, [BARE], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await waitForLine(child, "stdout", (l) => l.port, "bare server port");
  return { child, url: `http://127.0.0.1:${port}/` };
};

const measureNode = async ({ label, bin }, agent) => {
  const dir = mkdtempSync(join(tmpdir(), "credbridge-bench-serve-"));
  const [serve, bare] = await Promise.all([startServe(bin, dir, agent), startBare(bin)]);
  try {
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idle = { serve: rssOf(serve.child.pid), bare: rssOf(bare.child.pid) };

    const token = await (
      await fetch(`${serve.imds}/latest/api/token`, {
        method: "PUT",
        headers: { "x-aws-ec2-metadata-token-ttl-seconds": "21600" },
      })
    ).text();
    const role = await (
      await fetch(`${serve.imds}/latest/meta-data/iam/security-credentials/`, {
        headers: { "x-aws-ec2-metadata-token": token },
      })
    ).text();
    const targets = {
      bare: { pid: bare.child.pid, url: bare.url, headers: { "x-aws-ec2-metadata-token": token } },
      imds: {
        pid: serve.child.pid,
        url: `${serve.imds}/latest/meta-data/iam/security-credentials/${role}`,
        headers: { "x-aws-ec2-metadata-token": token },
      },
      container: {
        pid: serve.child.pid,
        url: serve.container,
        headers: { Authorization: readFileSync(join(dir, "container-token"), "utf8").trim() },
      },
    };
    for (const target of Object.values(targets)) await wrk(target, 1); // warm-up: JIT, first answers
    const results = { bare: [], imds: [], container: [] };
    // Bare runs before each of serve's two loads, so both processes take the same
    // load (the same number of wrk runs) before their peaks are compared.
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ["bare", "imds", "bare", "container"]) {
        results[name].push(await wrk(targets[name], SECONDS));
      }
    }
    const peak = { serve: peakRssOf(serve.child.pid), bare: peakRssOf(bare.child.pid) };
    const m = (name, key) => median(results[name].map((r) => r[key]));
    const bareRps = m("bare", "rps");
    const bareP99 = m("bare", "p99");
    const bareCpu = m("bare", "cpu");
    const rows = [];
    for (const [name, what] of [
      ["imds", "IMDSv2 GET credentials"],
      ["container", "container GET with Authorization"],
    ]) {
      const rps = m(name, "rps");
      const p99 = m(name, "p99");
      const cpu = m(name, "cpu");
      rows.push(
        {
          name: `serve ${label}: ${what}, req/s`,
          value: Math.round(rps),
          unit: "req/s",
          peer: `bare node:http ${Math.round(bareRps)}`,
          ratio: rps / bareRps,
          goal: "ratio ≥ 0.8",
          pass: rps / bareRps >= 0.8,
          note: `server CPU ${cpu.toFixed(1)} vs ${bareCpu.toFixed(1)} µs/request`,
        },
        {
          name: `serve ${label}: ${what}, p99`,
          value: p99,
          unit: "ms",
          peer: `bare node:http ${bareP99.toFixed(2)} ms`,
          ratio: p99 / bareP99,
          goal: "ratio ≤ 1.25",
          pass: p99 / bareP99 <= 1.25,
        },
      );
    }
    rows.push(
      {
        name: `serve ${label}: RSS idle, 3 s after ready`,
        value: mib(idle.serve),
        unit: "MiB",
        peer: `bare node:http idle ${mib(idle.bare)} MiB`,
        ratio: idle.serve / idle.bare,
        goal: "ratio ≤ 1.15",
        pass: idle.serve / idle.bare <= 1.15,
      },
      {
        name: `serve ${label}: peak RSS after the load`,
        value: mib(peak.serve),
        unit: "MiB",
        peer: `bare node:http peak ${mib(peak.bare)} MiB`,
        ratio: peak.serve / peak.bare,
        goal: "ratio ≤ 1.15",
        pass: peak.serve / peak.bare <= 1.15,
      },
    );
    return rows;
  } finally {
    await Promise.all([stop(serve.child), stop(bare.child)]);
    rmSync(dir, { recursive: true, force: true });
  }
};

export async function run() {
  const { startPodIdentityAgent } = await workspace("emulators");
  const nodes = nodeBinaries();
  const agent = await startPodIdentityAgent({ lifetimeSeconds: 3600 });
  try {
    const rows = [];
    for (const node of nodes) rows.push(...(await measureNode(node, agent)));
    return rows;
  } finally {
    await agent.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
