// Write latency of @credbridge/writer: one process alone, and 8 processes
// contending for the same file. `node bench/writer.mjs` prints the rows; the
// bench runner imports run(). Needs the build (`pnpm exec tsc -b`).
import { fork } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { percentile, workspace } from "./lib.mjs";

const self = fileURLToPath(import.meta.url);
const { writeCredentials } = await workspace("writer");

const SINGLE_WRITES = 500;
const WARMUP = 20;
const PROCESSES = 8;
const WRITES_PER_PROCESS = 200;

const credsFor = (writer, seq) => ({
  accessKeyId: `ASIABENCH${writer}X${seq}`,
  secretAccessKey: `bench/secret+${writer}+${seq}`,
  sessionToken: `IQoJbench//${writer}-${seq}==`.padEnd(900, "x"),
  expiration: new Date(Date.now() + 3_600_000),
});

const round = (ms) => Math.round(ms * 1000) / 1000;

/** Latencies of `n` sequential writes by this process. */
const writeLoop = async (path, writer, n, profileFor) => {
  const latencies = [];
  for (let seq = 0; seq < n; seq++) {
    const t = performance.now();
    await writeCredentials(credsFor(writer, seq), { path, profile: profileFor(seq) });
    latencies.push(performance.now() - t);
  }
  return latencies;
};

/** A file with a few other profiles, as a real one has. */
const seeded = (dir) => {
  const path = join(dir, "credentials");
  const others = Array.from(
    { length: 4 },
    (_, i) => `[other-${i}]\naws_access_key_id = AKIAOTHER${i}\naws_secret_access_key = s${i}\n`,
  );
  writeFileSync(path, others.join("\n"), { mode: 0o600 });
  return path;
};

const single = async (base) => {
  const dir = mkdtempSync(join(base, "credbridge-bench-"));
  try {
    const path = seeded(dir);
    await writeLoop(path, 0, WARMUP, () => "default");
    const ours = await writeLoop(path, 0, SINGLE_WRITES, () => "default");
    // The peer: what a naive sidecar does, overwriting in place with no lock and no fsync.
    const naive = [];
    for (let i = 0; i < SINGLE_WRITES; i++) {
      const t = performance.now();
      writeFileSync(path, `[default]\naws_access_key_id = ${credsFor(0, i).accessKeyId}\n`);
      naive.push(performance.now() - t);
    }
    return { p50: percentile(ours, 50), p99: percentile(ours, 99), naive50: percentile(naive, 50) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const contended = async (base) => {
  const dir = mkdtempSync(join(base, "credbridge-bench-"));
  try {
    const path = seeded(dir);
    const started = performance.now();
    const all = await Promise.all(
      Array.from(
        { length: PROCESSES },
        (_, w) =>
          new Promise((resolve, reject) => {
            const child = fork(self, ["--child", path, String(w), String(WRITES_PER_PROCESS)], {
              stdio: "inherit",
            });
            child.once("message", resolve);
            child.once(
              "exit",
              (code) => code !== 0 && reject(new Error(`bench child ${w} exited with ${code}`)),
            );
          }),
      ),
    );
    const elapsed = performance.now() - started;
    const latencies = all.flat();
    return {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      throughput: latencies.length / (elapsed / 1000),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export async function run() {
  const rows = [];
  const disk = await single(tmpdir());
  rows.push(
    {
      name: "writer: write p50, 1 process",
      value: round(disk.p50),
      unit: "ms",
      peer: `writeFileSync in place ${round(disk.naive50)} ms`,
      ratio: round(disk.p50 / disk.naive50),
      goal: "≤ 2 ms",
      pass: disk.p50 <= 2,
      note: `${tmpdir()}; lock, read, merge, temp file, fsync, rename, dir fsync, unlock; the peer has no lock, no fsync and readers can see it torn; ratio = this / peer`,
    },
    {
      name: "writer: write p99, 1 process",
      value: round(disk.p99),
      unit: "ms",
      note: `${SINGLE_WRITES} writes`,
    },
  );
  if (existsSync("/dev/shm")) {
    const shm = await single("/dev/shm");
    rows.push({
      name: "writer: write p50, 1 process, tmpfs",
      value: round(shm.p50),
      unit: "ms",
      note: "/dev/shm, as on an emptyDir with medium: Memory",
    });
  }
  // The sidecar's file sits on a Memory emptyDir (tmpfs) in every example; /tmp is a disk whose fsync
  // latency, on a shared machine, sets a floor under any lock's tail.
  const places = [[tmpdir(), ""], ...(existsSync("/dev/shm") ? [["/dev/shm", ", tmpfs"]] : [])];
  for (const [base, where] of places) {
    const busy = await contended(base);
    rows.push(
      {
        name: `writer: write p50, ${PROCESSES} contending processes${where}`,
        value: round(busy.p50),
        unit: "ms",
        note: `${PROCESSES}×${WRITES_PER_PROCESS} writes to one file in ${base}, lock wait included`,
      },
      {
        name: `writer: write p99, ${PROCESSES} contending processes${where}`,
        value: round(busy.p99),
        unit: "ms",
        goal: "≤ 50 ms",
        pass: busy.p99 <= 50,
      },
      {
        name: `writer: throughput, ${PROCESSES} contending processes${where}`,
        value: Math.round(busy.throughput),
        unit: "writes/s",
      },
    );
  }
  return rows;
}

if (process.argv[1] === self) {
  if (process.argv[2] === "--child") {
    const [path, id, n] = process.argv.slice(3);
    const writer = Number(id);
    const latencies = await writeLoop(path, writer, Number(n), (seq) =>
      seq % 2 === 0 ? `own-${writer}` : "shared",
    );
    process.send(latencies, () => process.exit(0));
  } else {
    for (const row of await run()) console.log(JSON.stringify(row));
  }
}
