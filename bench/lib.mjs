// Shared helpers for the benchmarks: workspace imports by path (bench/ is not a
// package), robust statistics, and child-process RSS.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { nodeBinary, pins } from "../scripts/node.mjs";

export const root = fileURLToPath(new URL("..", import.meta.url));

/** Imports a workspace package's built entry point. */
export const workspace = (name) => import(pathToFileURL(`${root}packages/${name}/dist/index.js`).href);

/** The role every benchmark's pod identity assumes. */
export const BENCH_ROLE = "arn:aws:iam::111122223333:role/app";

/**
 * A pod's IRSA identity against the STS emulator on loopback: a fresh
 * directory (`credbridge-bench-<name>-…`) holding a minted web identity token
 * (`token`), the emulator (close it), and the four variables EKS sets (`env`).
 */
export const irsaIdentity = async (name) => {
  const { startStsEmulator, mintWebIdentityToken } = await workspace("emulators");
  const sts = await startStsEmulator();
  const dir = mkdtempSync(join(tmpdir(), `credbridge-bench-${name}-`));
  const token = join(dir, "token");
  writeFileSync(token, mintWebIdentityToken());
  const env = {
    AWS_ROLE_ARN: BENCH_ROLE,
    AWS_WEB_IDENTITY_TOKEN_FILE: token,
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_STS: sts.url,
  };
  return { sts, dir, token, env };
};

/** Imports a dependency as the given workspace package resolves it. */
export const dependencyOf = (pkg, name) => {
  const require = createRequire(`${root}packages/${pkg}/package.json`);
  return import(pathToFileURL(require.resolve(name)).href);
};

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

/** Resident set size of a process in bytes, from /proc. */
export const rssOf = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
};

/** Peak resident set size (VmHWM) of a process in bytes, from /proc. */
export const peakRssOf = (pid) => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
};

export const mib = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;

/**
 * The Node binaries to measure on: the releases scripts/node.json pins for the
 * tested lines (22, 24, 26), fetched and verified by scripts/node.mjs into
 * .cache/node. `BENCH_NODES=24,26` narrows the list.
 */
export const nodeBinaries = () => {
  const wanted = (process.env.BENCH_NODES ?? pins.tested.join(",")).split(",").map((v) => v.trim());
  return wanted.map((line) => ({ label: `Node ${line}`, bin: nodeBinary(line) }));
};

/** Resolves with the first JSON log line on `child`'s stderr whose msg is `msg`. */
export const logLine = (child, msg) =>
  waitForLine(child, "stderr", (line) => (line.msg === msg ? line : undefined), `"${msg}"`);

/** Runs a command to its end; resolves with its stdout, rejects with its stderr. */
export const run1 = (command, args) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${command}: ${err}`))));
  });

/** A wrk duration (`812.5us`, `3.2ms`, `1.1s`) in ms. */
export const toMs = (value, unit) => Number(value) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? Number.NaN);

/** User plus system CPU time of a process in µs, from /proc (10 ms ticks). */
export const cpuUs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};

/**
 * Resolves with the first JSON line on the child's `stream` that `pick` turns
 * into a value; the stream keeps being drained after, so the child never
 * blocks on a full pipe.
 */
export const waitForLine = (child, stream, pick, what) =>
  new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`no ${what}`)), 30_000);
    const onData = (d) => {
      buf += d;
      for (let nl = buf.indexOf("\n"); nl !== -1; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let value;
        try {
          value = pick(JSON.parse(line));
        } catch {}
        if (value !== undefined) {
          clearTimeout(timer);
          child[stream].off("data", onData);
          child[stream].resume();
          resolve(value);
          return;
        }
      }
    };
    child[stream].on("data", onData);
    child.once("exit", (code) => reject(new Error(`${what}: exited with ${code}`)));
  });

/** SIGTERM, and the exit awaited. */
export const stop = async (child) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await gone;
};

/**
 * A manual clock for a refresh engine's `runtime` (simulated days in
 * milliseconds): `runFor(ms, turns)` fires the live timers in order until `ms`
 * of simulated time have passed, letting the event loop turn `turns` times
 * after each so the promises it settles run before the next one fires.
 */
export const manualClock = (start = Date.parse("2026-01-01T00:00:00Z")) => {
  let clock = start;
  const timers = [];
  const runtime = {
    now: () => clock,
    setTimer: (fn, ms) => {
      const t = { at: clock + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => (t.live = false) };
    },
  };
  const runFor = async (ms, turns = 1) => {
    const end = clock + ms;
    for (;;) {
      const next = timers.filter((t) => t.live).sort((a, b) => a.at - b.at)[0];
      if (!next || next.at > end) break;
      next.live = false;
      clock = next.at;
      next.fn();
      for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
    }
  };
  return { now: () => clock, runtime, runFor };
};
