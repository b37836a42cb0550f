import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { manualRuntime } from "@credbridge/core/testing";
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

/** Makes the lock look released `ms` ago (negative: in the future): waiters read it from the directory's mtime. */
const freedAgo = async (ms: number) => {
  const then = new Date(Date.now() - ms);
  await utimes(dir, then, then);
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

  it("defers to a writer that has waited past the priority time while the lock has been free only briefly", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const settings = { staleMs: 5_000, timeoutMs: 5_000 };
    // A live writer (this process) queued a second ago; its ticket names when.
    const first = `${String(Math.round((Date.now() - 1_000) * 1_000)).padStart(17, "0")}-${process.pid}-aaaaaaaa`;
    await mkdir(`${path}.lock.q`);
    await writeFile(`${path}.lock.q/${first}`, "");
    // The lock is free, but was released "just now" (the directory's mtime says when).
    await freedAgo(-60_000);
    let held = false;
    const waiting = acquireLock(path, settings, depsOf(fake)).then((l) => {
      held = true;
      return l;
    });
    await fake.advance(20);
    expect(held).toBe(false);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect((await readdir(`${path}.lock.q`)).length).toBe(2);
    // The first has left it free for long enough: it is not coming, anyone may take it.
    await freedAgo(1_000);
    await fake.advance(4);
    const lock = await waiting;
    expect(await readdir(`${path}.lock.q`)).toEqual([first]);
    lock.release();
  });

  it("removes the ticket of a waiter that died, and the queue with the last ticket", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const settings = { staleMs: 5_000, timeoutMs: 5_000 };
    // No such process: pids stop far below 2^30.
    const dead = `${String(Math.round((Date.now() - 1_000) * 1_000)).padStart(17, "0")}-${2 ** 30}-bbbbbbbb`;
    await mkdir(`${path}.lock.q`);
    await writeFile(`${path}.lock.q/${dead}`, "");
    await freedAgo(-60_000);
    const waiting = acquireLock(path, settings, depsOf(fake));
    await fake.advance(10);
    const lock = await waiting;
    expect((await readdir(dir)).sort()).toEqual(["credentials.lock"]);
    lock.release();
    expect(await readdir(dir)).toEqual([]);
  });
});
