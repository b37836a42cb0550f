// Shared helpers for the benchmarks: workspace imports by path (bench/ is not a
// package), robust statistics, and child-process RSS.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { nodeBinary, pins } from "../scripts/node.mjs";

export const root = fileURLToPath(new URL("..", import.meta.url));

/** Imports a workspace package's built entry point. */
export const workspace = (name) => import(pathToFileURL(`${root}packages/${name}/dist/index.js`).href);

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

/**
 * Resolves with the first JSON log line on `child`'s stderr whose msg is
 * `msg`; rejects after 30 s or if the process exits first.
 */
export const logLine = (child, msg) =>
  new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`no "${msg}" within 30 s:\n${buf}`)), 30_000);
    child.stderr.on("data", (d) => {
      buf += d;
      for (const line of buf.split("\n")) {
        try {
          const l = JSON.parse(line);
          if (l.msg === msg) {
            clearTimeout(timer);
            resolve(l);
          }
        } catch {}
      }
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before "${msg}":\n${buf}`));
    });
  });
