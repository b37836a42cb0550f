import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeCredentials } from "@credbridge/writer";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../support/run.js";
// @ts-expect-error: a plain .mjs fixture without types
import { checkProfile, credsFor, parseStrict } from "./fixtures/creds.mjs";
import { fixture, forkFixture, killFixtures, lastJsonLine, nextMessage } from "./helpers.js";

/** The lock's smallest stale period, to keep the test short. */
const STALE_MS = 2_000;
/**
 * The next writer's lock wait ends within its timeout (twice STALE_MS) or the
 * write fails with ERR_LOCKED, so `ok` proves the dead lock was taken over, not
 * waited out. Its time also holds the fsyncs, which this shared machine's disk
 * has stretched to seconds under load: only the stale period is a lower bound.
 */

afterEach(killFixtures);

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-kill-"));
  path = join(dir, "credentials");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The next writer: a fresh process, as after a sidecar restart. */
const nextWriter = async (writer: number, seq: number) =>
  lastJsonLine(
    (
      await run(process.execPath, [
        fixture("write-once.mjs"),
        path,
        String(writer),
        String(seq),
        String(STALE_MS),
      ])
    ).stdout,
  );

const expectWhole = async () => {
  const sections: Map<string, Record<string, string>> = parseStrict(await readFile(path, "utf8"));
  for (const [name, values] of sections) checkProfile(name, values);
  return sections;
};

describe("a writer killed with SIGKILL", () => {
  it("mid-update, holding the lock: the old file stays whole and the next writer takes the lock over once it has seen it unchanged for the stale period", async () => {
    await writeCredentials(credsFor(1, 0), { path, profile: "own-1" });
    const before = await readFile(path, "utf8");

    const holder = forkFixture("hold-lock.mjs", [path, String(STALE_MS)]);
    await new Promise<void>((resolve, reject) => {
      holder.child.stdout?.on("data", (d) => String(d).includes("holding") && resolve());
      holder.child.once("exit", (code) => reject(new Error(`holder exited early (${code})`)));
    });
    holder.child.kill("SIGKILL");
    expect((await holder.exited).signal).toBe("SIGKILL");

    // Killed between its fsync and its rename: lock and temp file left, file untouched.
    expect(existsSync(`${path}.lock`)).toBe(true);
    const [left, ...others] = await readdir(`${path}.lock`);
    expect(others).toEqual([]);
    expect(await readdir(join(`${path}.lock`, left ?? ""))).toEqual(["credentials.tmp"]);
    expect(await readFile(path, "utf8")).toBe(before);

    const next = await nextWriter(2, 7);
    console.log(
      `kill: the next writer waited ${Math.round(next.ms)} ms for a lock left by a killed writer (stale ${STALE_MS} ms)`,
    );
    expect(next).toMatchObject({ ok: true });
    // Seen unchanged for the stale period by the next writer itself, however old the lock was.
    expect(next.ms).toBeGreaterThanOrEqual(STALE_MS);

    const sections = await expectWhole();
    expect(checkProfile("own-2", sections.get("own-2"))).toEqual({ writer: 2, seq: 7 });
    expect(sections.get("own-1")).toEqual(parseStrict(before).get("own-1"));
    expect(sections.has("own-9")).toBe(false);
    // The dead writer's lock and temp file are gone.
    expect((await readdir(dir)).sort()).toEqual(["credentials"]);
  });

  it("at random points of a write loop: the file is always whole and the next writer always succeeds", async () => {
    const rounds = 4;
    let locksLeft = 0;
    let longestWait = 0;
    for (let round = 0; round < rounds; round++) {
      const writer = forkFixture("writer-loop.mjs", [path, String(round), "0", String(STALE_MS)]);
      await nextMessage(writer.child, "wrote");
      await new Promise((r) => setTimeout(r, Math.random() * 40));
      writer.child.kill("SIGKILL");
      await writer.exited;
      if (existsSync(`${path}.lock`)) locksLeft++;

      await expectWhole();
      const next = await nextWriter(100 + round, round);
      expect(next).toMatchObject({ ok: true });
      longestWait = Math.max(longestWait, next.ms);
      const sections = await expectWhole();
      expect(checkProfile(`own-${100 + round}`, sections.get(`own-${100 + round}`))).toEqual({
        writer: 100 + round,
        seq: round,
      });
    }
    console.log(
      `kill: ${rounds} writers killed mid-loop, ${locksLeft} left their lock behind; the longest wait of the next writer was ${Math.round(longestWait)} ms`,
    );
    const sections = await expectWhole();
    for (let round = 0; round < rounds; round++) expect(sections.has(`own-${100 + round}`)).toBe(true);
  }, 120_000);
});
