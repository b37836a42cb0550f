// `credbridge process` on a cache hit: wall time against `node -e 0` (the floor
// for any Node CLI) and against the AWS CLI exporting the same profile's
// credentials through it, all measured in one run, interleaved. Then the same
// cache hit against `node -e 0` with hyperfine on each Node version.
import { execFile, spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { BENCH_ROLE, irsaIdentity, median, nodeBinaries, root } from "./lib.mjs";

const RUNS = 30;
const AWS_RUNS = 7;
const CLI = join(root, "packages/cli/bin/credbridge.cjs");

const HYPERFINE_RUNS = 40;

/** Median wall times of `node -e 0` and of `args` on `node`, from one hyperfine run (-N: no shell; stdout a pipe, as the AWS CLI reads it). */
const hyperfine = (node, args, env, dir) => {
  const out = join(dir, "hyperfine.json");
  const r = spawnSync(
    "/usr/bin/hyperfine",
    [
      "-N",
      "--output=pipe",
      "--warmup",
      "5",
      "--runs",
      String(HYPERFINE_RUNS),
      "--export-json",
      out,
      `${node} -e 0`,
      [node, ...args].join(" "),
    ],
    { env, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`hyperfine failed: ${r.stderr}`);
  const [floor, hit] = JSON.parse(readFileSync(out, "utf8")).results.map((x) => x.median * 1000);
  return { floor, hit };
};

const time = (cmd, args, env) => {
  const start = performance.now();
  const r = spawnSync(cmd, args, { env, encoding: "utf8" });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return ms;
};

export async function run() {
  const { sts, dir, token } = await irsaIdentity("process");
  try {
    const args = [
      CLI,
      "process",
      "--role-arn",
      BENCH_ROLE,
      "--web-identity-token-file",
      token,
      "--sts-endpoint",
      sts.url,
      "--region",
      "us-east-1",
      "--cache-dir",
      join(dir, "cache"),
    ];
    writeFileSync(
      join(dir, "config"),
      `[profile app]\ncredential_process = ${process.execPath} ${args.join(" ")}\n`,
    );
    const env = { PATH: process.env.PATH, HOME: dir, AWS_CONFIG_FILE: join(dir, "config") };
    // Fill the cache (one STS call) without blocking: the emulator runs in this process.
    await promisify(execFile)(process.execPath, args, { env });
    const calls = sts.calls.length;
    const node = [];
    const hit = [];
    const aws = [];
    // node and credbridge interleaved; the AWS CLI (a second of Python) apart, so
    // its cache and CPU churn does not land on the two small processes.
    for (let i = 0; i < RUNS; i++) {
      node.push(time(process.execPath, ["-e", "0"], env));
      hit.push(time(process.execPath, args, env));
    }
    for (let i = 0; i < AWS_RUNS; i++) {
      aws.push(time("/usr/bin/aws", ["configure", "export-credentials", "--profile", "app"], env));
    }
    const h = median(hit);
    const n = median(node);
    const a = median(aws);
    const perNode = nodeBinaries().map(({ label, bin }) => {
      const { floor, hit } = hyperfine(bin, args, env, dir);
      return {
        name: `process ${label}: cache hit wall time (hyperfine)`,
        value: Number(hit.toFixed(1)),
        unit: "ms",
        peer: `node -e 0 ${floor.toFixed(1)} ms`,
        ratio: hit / floor,
        goal: "ratio ≤ 1.3",
        pass: hit / floor <= 1.3,
      };
    });
    return [
      ...perNode,
      {
        name: "process: cache hit wall time",
        value: Number(h.toFixed(1)),
        unit: "ms",
        peer: `node -e 0 ${n.toFixed(1)} ms`,
        ratio: h / n,
        goal: "ratio ≤ 2",
        pass: h / n <= 2,
      },
      {
        name: "process: AWS CLI export-credentials via credbridge",
        value: Number(a.toFixed(1)),
        unit: "ms",
        peer: `credbridge hit ${h.toFixed(1)} ms`,
        ratio: h / a,
        note: "credbridge's share of the AWS CLI's time",
      },
      {
        name: "process: STS calls for all cache hits",
        value: sts.calls.length - calls,
        unit: "calls",
        goal: "= 0",
        pass: sts.calls.length === calls,
      },
    ];
  } finally {
    await sts.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
