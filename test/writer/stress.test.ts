import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs fixture without types
import { checkProfile, parseStrict } from "./fixtures/creds.mjs";
import { forkFixture, killFixtures, lastJsonLine, nextMessage } from "./helpers.js";

const WRITERS = 8;
const WRITES = 200;
const READERS = 4;

/** Profiles the writers must never disturb, with the traps a generic INI round trip falls into. */
const SEED = [
  "# written by hand; the writers must keep every byte of this",
  "[keep.dotted]",
  "aws_access_key_id = AKIAKEEPDOTTED",
  "aws_secret_access_key = keep/secret+with=equals",
  "",
  "[keep-plain]",
  "aws_access_key_id = AKIAKEEPPLAIN",
  "aws_secret_access_key = keep-secret",
  "region = eu-west-1",
  "",
].join("\n");

afterEach(killFixtures);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-stress-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeCredentials under contention", () => {
  it(`${WRITERS} writer processes × ${WRITES} writes with ${READERS} readers: no torn read, nothing lost`, async () => {
    const path = join(dir, "credentials");
    const seedFile = join(dir, "seed");
    await writeFile(path, SEED, { mode: 0o600 });
    await writeFile(seedFile, SEED);

    const readers = Array.from({ length: READERS }, () => forkFixture("reader-loop.mjs", [path, seedFile]));
    await Promise.all(readers.map((r) => nextMessage(r.child, "ready")));
    const reports = readers.map(
      (r) =>
        new Promise((resolve) =>
          r.child.on("message", (m) => typeof m === "object" && m !== null && resolve(m)),
        ),
    );

    const started = performance.now();
    const writers = Array.from({ length: WRITERS }, (_, w) =>
      // A writer looping on the lock can keep retaking it before a sleeping waiter
      // polls: what is tested here is that nothing is lost, so waiters get time.
      forkFixture("writer-loop.mjs", [path, String(w), String(WRITES), "10000", "120000"]),
    );
    const results = await Promise.all(writers.map((w) => w.exited));
    const elapsed = performance.now() - started;
    for (const r of readers) r.child.send("stop");
    const readerStats = (await Promise.all(reports)) as Array<{
      stats: { reads: number; invalid: number; errors: string[]; profilesSeen: number };
    }>;

    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    const perWriter = results.map((r) => lastJsonLine(r.stdout));
    const reads = readerStats.reduce((n, s) => n + s.stats.reads, 0);
    const invalid = readerStats.reduce((n, s) => n + s.stats.invalid, 0);
    console.log(
      `stress: ${WRITERS}×${WRITES} writes in ${(elapsed / 1000).toFixed(1)} s; ` +
        `per-write p50 ${Math.max(...perWriter.map((p) => p.p50)).toFixed(1)} ms (worst writer), ` +
        `p99 ${Math.max(...perWriter.map((p) => p.p99)).toFixed(1)} ms, max ${Math.max(...perWriter.map((p) => p.max)).toFixed(0)} ms; ` +
        `${READERS} readers parsed the file ${reads} times, ${invalid} invalid; ` +
        `${perWriter.reduce((n, p) => n + (p.lostLocks ?? 0), 0)} writes lost their lock to a stall and were written again`,
    );
    expect(readerStats.flatMap((s) => s.stats.errors)).toEqual([]);
    expect(invalid).toBe(0);
    expect(reads).toBeGreaterThan(1_000);
    expect(perWriter.map((p) => p.writes)).toEqual(Array(WRITERS).fill(WRITES));

    const text = await readFile(path, "utf8");
    expect(text.startsWith(SEED)).toBe(true);
    const sections: Map<string, Record<string, string>> = parseStrict(text);
    expect([...sections.keys()].sort()).toEqual(
      [
        "keep-plain",
        "keep.dotted",
        "shared",
        ...Array.from({ length: WRITERS }, (_, w) => `own-${w}`),
      ].sort(),
    );
    for (let w = 0; w < WRITERS; w++) {
      // Each writer's last write to its own profile was its write number WRITES - 2.
      expect(checkProfile(`own-${w}`, sections.get(`own-${w}`))).toEqual({ writer: w, seq: WRITES - 2 });
    }
    // [shared] holds one writer's last write, whole.
    expect(checkProfile("shared", sections.get("shared")).seq).toBe(WRITES - 1);
    expect((await readdir(dir)).sort()).toEqual(["credentials", "seed"]);
    // About 10 s on an idle two-core machine; the margin is for a shared, saturated one.
  }, 180_000);
});
