// `pnpm bench`: runs every bench/*.mjs (each exports `run()` → rows) one after
// another, so no two compete for the two cores, and prints one table. Ratios
// compare against a peer measured in the same run. `--record` also writes
// docs/benchmarks.md with the date and the machine.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./lib.mjs";

const only = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const files = readdirSync(join(root, "bench"))
  .filter((f) => f.endsWith(".mjs") && !["lib.mjs", "run.mjs"].includes(f))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const rows = [];
let failed = false;
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`);
  try {
    const mod = await import(pathToFileURL(join(root, "bench", file)).href);
    rows.push(...(await mod.run()));
  } catch (error) {
    failed = true;
    rows.push({
      name: `${file}: FAILED`,
      value: "-",
      unit: "",
      note: String(error?.message ?? error).split("\n")[0],
    });
  }
}

const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : (v ?? ""));
const table = [
  "| benchmark | value | unit | peer (same run) | ratio | goal | met |",
  "|---|---:|---|---|---:|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.name} | ${fmt(r.value)} | ${r.unit ?? ""} | ${r.peer ?? ""} | ${r.ratio === undefined ? "" : fmt(r.ratio)} | ${r.goal ?? ""} | ${r.pass === undefined ? "" : r.pass ? "yes" : "NO"}${r.note ? ` (${r.note})` : ""} |`,
  ),
].join("\n");
process.stdout.write(`${table}\n`);

if (process.argv.includes("--record")) {
  const cpu = cpus();
  const machine = `${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
  const notes = readFileSync(join(root, "docs/benchmarks.notes.md"), "utf8");
  writeFileSync(
    join(root, "docs/benchmarks.md"),
    `# Benchmarks\n\nRecorded ${new Date().toISOString().slice(0, 10)} with \`pnpm bench -- --record\` on ${machine}.\nThe machine is shared and noisy: read ratios (peer measured in the same run), not absolute figures.\n\n${table}\n\n${notes}`,
  );
  process.stderr.write("bench: wrote docs/benchmarks.md\n");
}
process.exitCode = failed ? 1 : 0;
