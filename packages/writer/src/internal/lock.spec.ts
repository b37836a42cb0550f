import { mkdir, mkdtemp, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCredentialsFileError } from "../errors.js";
import { acquireLock, lockSettings } from "./lock.js";

const deps = {
  now: Date.now,
  sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  random: Math.random,
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-lock-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("acquireLock", () => {
  it("defaults to a 10 s stale period and waits twice that, never less than proper-lockfile's 2 s floor", () => {
    expect(lockSettings()).toEqual({ staleMs: 10_000, timeoutMs: 20_000 });
    expect(lockSettings({ staleMs: 500 })).toEqual({ staleMs: 2_000, timeoutMs: 4_000 });
  });

  it("serialises holders and removes the lock directory on release", async () => {
    const path = join(dir, "credentials");
    const first = await acquireLock(path, { staleMs: 5_000, timeoutMs: 5_000 }, deps);
    let second = false;
    const waiting = acquireLock(path, { staleMs: 5_000, timeoutMs: 5_000 }, deps).then((l) => {
      second = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(second).toBe(false);
    first.release();
    const held = await waiting;
    held.release();
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("gives up with ERR_LOCKED after the timeout while a live lock is held", async () => {
    const path = join(dir, "credentials");
    await mkdir(`${path}.lock`);
    const started = Date.now();
    const error = await acquireLock(path, { staleMs: 10_000, timeoutMs: 300 }, deps).catch((e) => e);
    expect(isCredentialsFileError(error) && error.code).toBe("ERR_LOCKED");
    expect(error.message).toContain(`${path}.lock`);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("takes over a lock left by a dead writer once it is older than the stale period", async () => {
    const path = join(dir, "credentials");
    await mkdir(`${path}.lock`);
    const old = new Date(Date.now() - 3_000);
    await utimes(`${path}.lock`, old, old);
    const held = await acquireLock(path, { staleMs: 2_000, timeoutMs: 100 }, deps);
    held.assertHeld();
    held.release();
  });
});
