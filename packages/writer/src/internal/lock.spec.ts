import * as nodeFs from "node:fs";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { manualRuntime } from "@credbridge/core/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCredentialsFileError } from "../errors.js";
import type { WriterFs } from "../file-options.js";
import { fsError } from "./hooked-fs.spec.helper.js";
import { acquireLock, type LockDeps, type LockTarget, lockSettings } from "./lock.js";
import { openDirectory, type TargetDirectory } from "./open-directory.js";

const depsOf = (fake: ReturnType<typeof manualRuntime>): LockDeps => ({
  monotonic: fake.runtime.now,
  sleep: (ms, signal) => fake.runtime.sleep(ms, signal),
  random: fake.runtime.random,
});

/** Sets a lock's times as a writer with another clock (or a file server) would have left them. */
const stamp = async (lockDir: string, offsetMs: number) => {
  const then = new Date(Date.now() + offsetMs);
  await utimes(lockDir, then, then);
};

/** Makes a change in the target's directory, as a lock hand-over does. */
const touchDir = async () => {
  const now = new Date();
  await utimes(dir, now, new Date(now.getTime() + Math.random() * 1_000));
};

let dir: string;
let path: string;
let opened: TargetDirectory[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-lock-"));
  path = join(dir, "credentials");
  opened = [];
});
afterEach(async () => {
  for (const o of opened) o.close();
  await rm(dir, { recursive: true, force: true });
});

/** The lock target for `path`, its directory opened as updateFile opens it. */
const targetOf = (): LockTarget => {
  const located = openDirectory(nodeFs, dir, { target: path });
  if (!located) throw new Error(`${dir} is missing`);
  opened.push(located);
  return { dir: located.dir, name: "credentials", path };
};

const acquire = (
  fake: ReturnType<typeof manualRuntime>,
  settings: { staleMs: number; timeoutMs: number },
  fs: WriterFs = nodeFs,
  signal?: AbortSignal,
) => acquireLock(fs, targetOf(), settings, depsOf(fake), signal);

describe("acquireLock", () => {
  it("defaults to a 10 s stale period and waits twice that, never less than a 2 s floor", () => {
    expect(lockSettings()).toEqual({ staleMs: 10_000, timeoutMs: 20_000 });
    expect(lockSettings({ staleMs: 500 })).toEqual({ staleMs: 2_000, timeoutMs: 4_000 });
  });

  it("serialises holders, polls every few milliseconds while waiting, and removes the lock on release", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const settings = { staleMs: 5_000, timeoutMs: 5_000 };
    const first = await acquire(fake, settings);
    expect(await readdir(`${path}.lock`)).toEqual([basename(first.holder.path)]);
    let second = false;
    const waiting = acquire(fake, settings).then((l) => {
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
    const error = await acquire(fake, { staleMs: 10_000, timeoutMs: 300 }).catch((e) => e);
    expect(isCredentialsFileError(error) && error.code).toBe("ERR_LOCKED");
    expect(error.message).toContain(`${path}.lock`);
    expect(fake.now() - started).toBeLessThanOrEqual(300);
  });

  it.each([
    ["an hour in the future (a clock stepped back, a file server ahead)", 3_600_000],
    ["an hour in the past", -3_600_000],
  ])(
    "takes over a dead writer's lock, with its temp file, once it has watched it unchanged for the stale period: its time %s changes nothing",
    async (_, offset) => {
      const fake = manualRuntime();
      await mkdir(`${path}.lock/123-deadbeef0000`, { recursive: true });
      await writeFile(`${path}.lock/123-deadbeef0000/credentials.tmp`, "half a file");
      await stamp(`${path}.lock`, offset);
      const started = fake.now();
      const held = await acquire(fake, { staleMs: 2_000, timeoutMs: 4_000 });
      // Seen first at `started`, judged by this waiter's own clock only.
      expect(fake.now() - started).toBeGreaterThanOrEqual(2_000);
      expect(fake.now() - started).toBeLessThan(2_010);
      expect(await readdir(`${path}.lock`)).toEqual([basename(held.holder.path)]);
      held.release();
      expect(await readdir(dir)).toEqual([]);
    },
  );

  it("starts the stale period over whenever the lock changes hands", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const settings = { staleMs: 2_000, timeoutMs: 10_000 };
    await mkdir(`${path}.lock/1-aaaaaaaaaaaa`, { recursive: true });
    let held = false;
    const waiting = acquire(fake, settings).then((l) => {
      held = true;
      return l;
    });
    await fake.advance(1_500);
    // Another writer takes it over: a new holder, so a new lock to this waiter.
    await rename(`${path}.lock/1-aaaaaaaaaaaa`, `${path}.lock/2-bbbbbbbbbbbb`);
    await fake.advance(1_500);
    expect(held).toBe(false);
    await fake.advance(600);
    const lock = await waiting;
    expect(fake.now() - Date.parse("2026-01-01T00:00:00Z")).toBeGreaterThanOrEqual(3_500);
    lock.release();
  });

  it("a holder whose lock was taken over knows it, and its release leaves the new holder's lock", async () => {
    const fake = manualRuntime();
    const settings = { staleMs: 2_000, timeoutMs: 5_000 };
    const stalled = await acquire(fake, settings);
    const next = await acquire(fake, settings);

    let lost: unknown;
    try {
      stalled.assertHeld();
    } catch (error) {
      lost = error;
    }
    expect(isCredentialsFileError(lost) && lost.code).toBe("ERR_LOCKED");
    expect((lost as Error).message).toMatch(/another writer took the lock over/);
    stalled.release();
    expect(existsSync(next.holder.path)).toBe(true);
    next.assertHeld();
    next.release();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it.each([
    ["its holder directory", (p: string) => /\/\d+-[0-9a-f]{12}$/.test(p)],
    ["the lock directory", (p: string) => p.endsWith("/credentials.lock")],
  ])(
    "leaves nothing behind when making %s fails (ENOSPC), so the next writer gets in at once",
    async (_, at) => {
      const fake = manualRuntime();
      const full: WriterFs = {
        ...nodeFs,
        mkdirSync: ((p: string, options: nodeFs.MakeDirectoryOptions) => {
          if (at(p)) throw fsError("ENOSPC", p);
          return nodeFs.mkdirSync(p, options);
        }) as WriterFs["mkdirSync"],
      };
      const error = await acquire(fake, { staleMs: 10_000, timeoutMs: 20_000 }, full).catch((e) => e);
      expect(isCredentialsFileError(error) && error.code).toBe("ERR_WRITE");
      expect(error.syscallCode).toBe("ENOSPC");
      expect(error.message).toMatch(/the file system is full/);
      expect(await readdir(dir)).toEqual([]);
      const held = await acquire(fake, { staleMs: 10_000, timeoutMs: 20_000 });
      expect(fake.sleeps).toEqual([]);
      held.release();
    },
  );

  it("waits without a ticket when the queue cannot take one (ENOSPC), and leaves no queue behind", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const settings = { staleMs: 5_000, timeoutMs: 5_000 };
    const first = await acquire(fake, settings);
    const noTickets: WriterFs = {
      ...nodeFs,
      openSync: ((p: string, flags: nodeFs.OpenMode, mode?: nodeFs.Mode) => {
        if (flags === "wx") throw fsError("ENOSPC", p);
        return nodeFs.openSync(p, flags, mode);
      }) as WriterFs["openSync"],
    };
    const waiting = acquire(fake, settings, noTickets);
    await fake.advance(10);
    expect((await readdir(dir)).sort()).toEqual(["credentials.lock"]);
    first.release();
    await fake.advance(4);
    (await waiting).release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("stops waiting when its signal aborts, with ERR_ABORTED, leaving the holder's lock and no ticket", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const settings = { staleMs: 5_000, timeoutMs: 5_000 };
    const first = await acquire(fake, settings);
    const stop = new AbortController();
    const waiting = acquire(fake, settings, nodeFs, stop.signal).catch((e) => e);
    await fake.advance(10);
    expect((await readdir(dir)).sort()).toEqual(["credentials.lock", "credentials.lock.q"]);
    stop.abort("SIGTERM");
    const error = await waiting;
    expect(isCredentialsFileError(error) && error.code).toBe("ERR_ABORTED");
    expect(error.message).toMatch(
      /stopped \(SIGTERM\) while waiting for the lock on .*; the file is unchanged/,
    );
    expect(await readdir(dir)).toEqual(["credentials.lock"]);
    first.assertHeld();
    first.release();
  });

  it("defers to a writer that has waited past the priority time until it has seen the lock stand free for a moment", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const settings = { staleMs: 5_000, timeoutMs: 5_000 };
    // A live writer (this process) queued a second ago; its ticket names when.
    const first = `${String(Math.round((Date.now() - 1_000) * 1_000)).padStart(17, "0")}-${process.pid}-aaaaaaaa`;
    await mkdir(`${path}.lock.q`);
    await writeFile(`${path}.lock.q/${first}`, "");
    let held = false;
    const waiting = acquire(fake, settings).then((l) => {
      held = true;
      return l;
    });
    // The lock is free, but the directory keeps changing as hand-overs do.
    for (let i = 0; i < 20; i++) {
      await touchDir();
      await fake.advance(1);
    }
    expect(held).toBe(false);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect((await readdir(`${path}.lock.q`)).length).toBe(2);
    // Now it stands still: the first is not coming, anyone may take it.
    await fake.advance(8);
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
    await touchDir();
    const waiting = acquire(fake, settings);
    await fake.advance(10);
    const lock = await waiting;
    expect((await readdir(dir)).sort()).toEqual(["credentials.lock"]);
    lock.release();
    expect(await readdir(dir)).toEqual([]);
  });
});
