// The image (examples/image, built by scripts/image.mjs) as a native sidecar
// meets it: every application container waits for its start. Start to /readyz
// (the first credentials on disk) from the image and on the host, beside the
// seed's shell loop's first credentials (Debian's `aws sts
// assume-role-with-web-identity`), all against the same STS emulator on
// loopback (the container shares the host's network for that); then idle RSS
// of the container's PID 1 beside the same command on the host, and the
// image's size beside published figures.
import { execFile, spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { nodeBinary } from "../scripts/node.mjs";
import { BENCH_ROLE, irsaIdentity, logLine, median, mib, root, rssOf } from "./lib.mjs";

const RUNS = Number(process.env.BENCH_IMAGE_RUNS ?? 7);
const IDLE_MS = 2_000;
const PODMAN = ["--runtime", "runc"];
const LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"];
const exec = promisify(execFile);

/**
 * Published compressed sizes (linux/amd64) of the images a sidecar is usually
 * built on, from Docker Hub's tag pages (no registry is reachable here to pull them).
 */
const PUBLISHED = [
  { name: "node:26.12.0-bookworm-slim", mb: 80.17, source: "hub.docker.com/_/node/tags?name=26" },
  { name: "node:22.23.4-slim (bookworm)", mb: 76.15, source: "hub.docker.com/_/node/tags?name=22.23.4" },
];

/**
 * /readyz from when the metrics server listens (serve opens it after the first
 * write today, so the first answer is 200; should that change, it asks again
 * every 10 ms rather than loading the process it measures with a tight poll).
 * Resolves with performance.now() at the 200.
 */
const ready = async (url) => {
  for (;;) {
    const res = await fetch(`${url}/readyz`);
    if (res.status === 200) return performance.now();
    await new Promise((r) => setTimeout(r, 10));
  }
};

const serveArgs = (dir, i) => [
  "serve",
  "--self-assume",
  "--credentials-file",
  join(dir, `creds-${i}`, "credentials"),
  "--metrics",
  "127.0.0.1:0",
];

export async function run() {
  const built = JSON.parse(
    (await exec(process.execPath, [join(root, "scripts/image.mjs"), "--json"], { maxBuffer: 2 ** 24 }))
      .stdout,
  );
  const { sts, dir, token, env } = await irsaIdentity("image");
  // Read by the container's user 65532 through the mounted directory.
  chmodSync(dir, 0o755);
  chmodSync(token, 0o644);
  const node = nodeBinary("image");
  const host = [];
  const image = [];
  const aws = [];
  const runtime = [];
  const bare = [];
  let hostRss = 0;
  let imageRss = 0;
  try {
    for (let i = 0; i < RUNS; i++) {
      // Host: the same Node binary the image carries, the same command.
      mkdirSync(join(dir, `creds-h${i}`), { mode: 0o777 });
      let t0 = performance.now();
      const child = spawn(node, [join(root, "packages/cli/bin/credbridge.cjs"), ...serveArgs(dir, `h${i}`)], {
        env: { PATH: process.env.PATH, HOME: dir, ...env },
        stdio: ["ignore", "ignore", "pipe"],
      });
      const url = String((await logLine(child, "metrics listening")).url);
      host.push((await ready(url)) - t0);
      if (i === RUNS - 1) {
        await new Promise((r) => setTimeout(r, IDLE_MS));
        hostRss = rssOf(child.pid);
      }
      child.kill("SIGTERM");
      await new Promise((r) => child.on("close", r));

      // Image: created beforehand, as the kubelet creates a container before starting it.
      mkdirSync(join(dir, `creds-c${i}`), { mode: 0o777 });
      chmodSync(join(dir, `creds-c${i}`), 0o777);
      const name = `credbridge-bench-${process.pid}-${i}`;
      await exec("podman", [
        ...PODMAN,
        "create",
        "--name",
        name,
        ...LIMITS,
        "--network",
        "host",
        "--read-only",
        "--read-only-tmpfs=false",
        "--user",
        "65532:65532",
        "--cap-drop",
        "ALL",
        "--volume",
        `${dir}:${dir}`,
        ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
        built.image,
        ...serveArgs(dir, `c${i}`),
      ]);
      try {
        t0 = performance.now();
        const started = spawn("podman", [...PODMAN, "start", "--attach", name], {
          stdio: ["ignore", "ignore", "pipe"],
        });
        const curl = String((await logLine(started, "metrics listening")).url);
        image.push((await ready(curl)) - t0);
        if (i === RUNS - 1) {
          await new Promise((r) => setTimeout(r, IDLE_MS));
          const pid = Number(
            (await exec("podman", [...PODMAN, "inspect", "--format", "{{.State.Pid}}", name])).stdout,
          );
          imageRss = rssOf(pid);
        }
        await exec("podman", [...PODMAN, "stop", "--time", "5", name]);
      } finally {
        await exec("podman", [...PODMAN, "rm", "--force", name]).catch(() => undefined);
      }

      // The container runtime's own share: wall clock from start to the first line of JavaScript,
      // through podman start and spawned on the host (the process reports Date.now()).
      const first = ["-e", "process.stdout.write(String(Date.now()))"];
      const probe = `credbridge-bench-v-${process.pid}-${i}`;
      await exec("podman", [
        ...PODMAN,
        "create",
        "--name",
        probe,
        ...LIMITS,
        "--network",
        "none",
        "--entrypoint",
        "/usr/local/bin/node",
        built.image,
        ...first,
      ]);
      try {
        const w0 = Date.now();
        const { stdout: at } = await exec("podman", [...PODMAN, "start", "--attach", probe]);
        runtime.push(Number(at) - w0);
      } finally {
        await exec("podman", [...PODMAN, "rm", "--force", probe]).catch(() => undefined);
      }
      const w1 = Date.now();
      bare.push(Number((await exec(node, first)).stdout) - w1);

      // The seed's loop: its first credentials.
      t0 = performance.now();
      const { stdout } = await exec(
        "/usr/bin/aws",
        [
          "sts",
          "assume-role-with-web-identity",
          "--role-arn",
          BENCH_ROLE,
          "--role-session-name",
          "seed",
          "--web-identity-token",
          `file://${token}`,
          "--endpoint-url",
          sts.url,
          "--region",
          "us-east-1",
          "--output",
          "json",
        ],
        {
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            AWS_CONFIG_FILE: join(dir, "none"),
            AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"),
          },
        },
      );
      aws.push(performance.now() - t0);
      if (!JSON.parse(stdout).Credentials?.AccessKeyId) throw new Error("aws sts returned no credentials");
    }
  } finally {
    await sts.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const awsMs = median(aws);
  const overhead = median(runtime) - median(bare);
  const peer = `aws sts assume-role-with-web-identity ${awsMs.toFixed(0)} ms`;
  const nodeVersion = JSON.parse(readFileSync(join(root, "scripts/node.json"), "utf8")).releases;
  const imageLine = JSON.parse(readFileSync(join(root, "scripts/node.json"), "utf8")).image;
  const rows = [
    {
      name: `image: start to /readyz (podman start of a created container, loopback STS, median of ${RUNS})`,
      value: Math.round(median(image)),
      unit: "ms",
      peer,
      ratio: median(image) / awsMs,
      goal: "ratio ≤ 0.25",
      pass: median(image) / awsMs <= 0.25,
      note:
        `Node ${nodeVersion[imageLine].version}; runs ${image.map((x) => x.toFixed(0)).join("/")}; ` +
        `podman's own share ${overhead.toFixed(0)} ms (next row), without it ${(median(image) - overhead).toFixed(0)} ms, ` +
        `ratio ${((median(image) - overhead) / awsMs).toFixed(2)}`,
    },
    {
      name: "image: the container runtime's share (start to the first line of JavaScript, podman start less a host spawn)",
      value: Math.round(overhead),
      unit: "ms",
      note: `podman ${median(runtime).toFixed(0)} ms, host ${median(bare).toFixed(0)} ms; the seed's loop pays it too, in its own container`,
    },
    {
      name: `host: start to /readyz (same Node binary and command, median of ${RUNS})`,
      value: Math.round(median(host)),
      unit: "ms",
      peer,
      ratio: median(host) / awsMs,
      goal: "ratio ≤ 0.25",
      pass: median(host) / awsMs <= 0.25,
    },
    {
      name: "image: RSS of PID 1, idle (credentials file + metrics)",
      value: mib(imageRss),
      unit: "MiB",
      peer: `host ${mib(hostRss)} MiB`,
      ratio: imageRss / hostRss,
    },
  ];
  for (const p of PUBLISHED) {
    rows.push({
      name: "image: size, compressed (gzip layers + config)",
      value: Number((built.compressed / 1e6).toFixed(1)),
      unit: "MB",
      peer: `${p.name} ${p.mb} MB (${p.source})`,
      ratio: built.compressed / 1e6 / p.mb,
      goal: "ratio ≤ 0.75",
      pass: built.compressed / 1e6 / p.mb <= 0.75,
    });
  }
  rows.push({
    name: "image: size, uncompressed (layer tars)",
    value: Number((built.uncompressed / 1e6).toFixed(1)),
    unit: "MB",
    note: `${built.layers} layers`,
  });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
