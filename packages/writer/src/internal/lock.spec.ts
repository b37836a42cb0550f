import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { manualRuntime, settle } from "@credbridge/core/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCredentialsFileError } from "../errors.js";
import { acquireLock, type LockDeps, lockSettings } from "./lock.js";

const depsOf = (fake: ReturnType<typeof manualRuntime>): LockDeps => ({
  now: fake.runtime.now,
  sleep: (ms) => fake.runtime.sleep(ms),
  random: fake.runtime.random,
});

/** Makes a lock look as a dead (or stalled) writer left it `ms` ago: the stale check reads its mtime. */
const age = async (lockDir: string, ms: number) => {
  const then = new Date(Date.now() - ms);
  await utimes(lockDir, then, then);
};

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-lock-"));
  path = join(dir, "credentials");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("acquireLock", () => {
  it("defaults to a 10 s stale period and waits twice that, never less than a 2 s floor", () => {
    expect(lockSettings()).toEqual({ staleMs: 10_000, timeoutMs: 20_000 });
    expect(lockSettings({ staleMs: 500 })).toEqual({ staleMs: 2_000, timeoutMs: 4_000 });
  });

  it("serialises holders, polls every few milliseconds while waiting, and removes the lock on release", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const settings = { staleMs: 5_000, timeoutMs: 5_000 };
    const first = await acquireLock(path, settings, depsOf(fake));
    expect(await readdir(`${path}.lock`)).toEqual([first.dir.slice(`${path}.lock/`.length)]);
    let second = false;
    const waiting = acquireLock(path, settings, depsOf(fake)).then((l) => {
      second = true;
      return l;
    });
    await fake.advance(20);
    expect(second).toBe(false);
    expect(fake.sleeps.length).toBeGreaterThan(3);
    expect(Math.max(...fake.sleeps)).toBeLessThanOrEqual(4);
    first.release();
    await fake.advance(4);
    const held = await waiting;
    held.assertHeld();
    held.release();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it("gives up with ERR_LOCKED after the timeout while a live lock is held", async () => {
    const fake = manualRuntime();
    await mkdir(`${path}.lock`);
    const started = fake.now();
    const error = await acquireLock(path, { staleMs: 10_000, timeoutMs: 300 }, depsOf(fake)).catch((e) => e);
    expect(isCredentialsFileError(error) && error.code).toBe("ERR_LOCKED");
    expect(error.message).toContain(`${path}.lock`);
    expect(fake.now() - started).toBeLessThanOrEqual(300);
  });

  it("takes over a lock left by a dead writer once it is older than the stale period, with its temp file", async () => {
    const fake = manualRuntime();
    await mkdir(`${path}.lock/123-deadbeef0000`, { recursive: true });
    await writeFile(`${path}.lock/123-deadbeef0000/credentials.tmp`, "half a file");
    await age(`${path}.lock`, 3_000);
    const held = await acquireLock(path, { staleMs: 2_000, timeoutMs: 100 }, depsOf(fake));
    expect(fake.sleeps).toEqual([]);
    expect(await readdir(`${path}.lock`)).toEqual([held.dir.slice(`${path}.lock/`.length)]);
    held.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("a holder whose lock was taken over knows it, and its release leaves the new holder's lock", async () => {
    const fake = manualRuntime();
    const settings = { staleMs: 2_000, timeoutMs: 100 };
    const stalled = await acquireLock(path, settings, depsOf(fake));
    await age(`${path}.lock`, 3_000);
    const next = await acquireLock(path, settings, depsOf(fake));

    let lost: unknown;
    try {
      stalled.assertHeld();
    } catch (error) {
      lost = error;
    }
    expect(isCredentialsFileError(lost) && lost.code).toBe("ERR_LOCKED");
    expect((lost as Error).message).toMatch(/another writer took the lock over/);
    stalled.release();
    expect(existsSync(next.dir)).toBe(true);
    next.assertHeld();
    next.release();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it("after finding the lock contended, lets the other writers poll before taking it a third time in a row", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const settings = { staleMs: 5_000, timeoutMs: 5_000 };
    const other = await acquireLock(path, settings, depsOf(fake));
    const waiting = acquireLock(path, settings, depsOf(fake));
    await settle();
    other.release();
    await fake.advance(4);
    (await waiting).release();

    fake.sleeps.length = 0;
    (await acquireLock(path, settings, depsOf(fake))).release();
    (await acquireLock(path, settings, depsOf(fake))).release();
    expect(fake.sleeps).toEqual([]);
    const third = acquireLock(path, settings, depsOf(fake));
    await settle();
    // Free, yet it waits first: a writer it kept waiting would have polled in this time.
    expect(fake.sleeps).toEqual([2]);
    await fake.advance(2);
    (await third).release();
  });
});
