import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { backoffDelay } from "@credbridge/core";
import { CredentialsFileError } from "../errors.js";
import { systemCode, writeError } from "./fs-error.js";

export const DEFAULT_STALE_MS = 10_000;
/**
 * A live holder never refreshes its lock (the work under it is one synchronous
 * stretch), so the stale period must outlast the slowest fsync we expect.
 */
const MIN_STALE_MS = 2_000;

export interface LockDeps {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export interface HeldLock {
  /**
   * A directory inside the lock that only this holder uses. Another writer
   * that takes the lock over as stale removes it, so a file created in it and
   * renamed out of it can reach the target only while the lock is still ours.
   */
  readonly dir: string;
  /** Throws ERR_LOCKED if another writer took the lock over since it was acquired. */
  assertHeld(): void;
  /** Removes the lock if it is still ours; never another writer's. */
  release(): void;
}

export interface LockSettings {
  staleMs: number;
  timeoutMs: number;
}

export const lockSettings = (
  options: { staleMs?: number | undefined; timeoutMs?: number | undefined } = {},
) => {
  const staleMs = Math.max(options.staleMs ?? DEFAULT_STALE_MS, MIN_STALE_MS);
  const timeoutMs = options.timeoutMs ?? staleMs * 2;
  return { staleMs, timeoutMs };
};

/**
 * Waiters poll every 1-4 ms (a write holds the lock for about a millisecond).
 * Polls that back off to 50 ms, as they did, made the tail: a waiter that had
 * lost a few times slept through many releases, 8 contending processes saw a
 * p99 of 200 ms. File system events (fs.watch) woke every waiter at every
 * lock and release, and on two busy cores that herd was slower still.
 */
const POLL = { initialDelayMs: 1, maxDelayMs: 4 };

/**
 * A writer that released the lock and comes straight back for it is already
 * on the CPU while the ones it kept waiting sleep until their next poll: it
 * wins again and again (runs of 50-90 writes by one of 8 processes in the
 * bench, which made the tail). So a process that found this lock held by
 * another within the last CONTENDED_MS, and has since taken it STREAK times
 * in a row, lets the others poll for YIELD_MS before its next try. Yielding
 * every time instead halved throughput on a loaded machine, where a woken
 * waiter may take longer than that to run. A writer alone never waits, so it
 * never pays this.
 */
const CONTENDED_MS = 1_000;
const STREAK = 3;
const YIELD_MS = 2;
const contention = new Map<string, { at: number; streak: number }>();

const ignoring = (codes: string[], fn: () => void): void => {
  try {
    fn();
  } catch (error) {
    if (!codes.includes(systemCode(error) ?? "")) throw error;
  }
};

const lostLock = (path: string, settings: LockSettings) =>
  new CredentialsFileError(
    `credbridge: lost the lock on ${path}: this writer stalled for longer than the stale timeout (${settings.staleMs} ms) and another writer took the lock over. Not replacing the file; the other writer's content stays. Raise lock.staleMs if the disk is this slow.`,
    { code: "ERR_LOCKED", path },
  );

/**
 * Breaks `lockDir` if its mtime (set by the kernel when its holder created
 * its directory in it) is older than `staleMs`: its holder died or stalled.
 * Removes only the holder directories listed before the age was read, so a
 * lock another waiter broke and retook in between keeps its holder, and the
 * final rmdir fails on it. Returns whether the lock may now be free.
 */
const breakIfStale = (lockDir: string, staleMs: number): boolean => {
  let holders: string[];
  let mtimeMs: number;
  try {
    holders = readdirSync(lockDir);
    mtimeMs = statSync(lockDir).mtimeMs;
  } catch (error) {
    if (systemCode(error) === "ENOENT") return true;
    throw error;
  }
  // File mtimes are wall-clock time, whatever clock the runtime was given.
  if (mtimeMs >= Date.now() - staleMs) return false;
  try {
    for (const holder of holders) rmSync(join(lockDir, holder), { recursive: true, force: true });
  } catch (error) {
    // Its stalled holder woke and is adding a file: break it at the next poll.
    if (systemCode(error) === "ENOTEMPTY") return false;
    throw error;
  }
  ignoring(["ENOENT", "ENOTEMPTY", "EEXIST"], () => rmdirSync(lockDir));
  return true;
};

/**
 * One attempt: `mkdir <path>.lock` excludes the other writers; the holder
 * directory `<path>.lock/<pid>-<random>` names us. Synchronous, like the work
 * under the lock and the release, so no event-loop turn (which a busy CPU can
 * stretch to tens of milliseconds) is ever spent holding it. Returns undefined
 * while another writer holds it.
 */
const tryLock = (path: string, settings: LockSettings): HeldLock | undefined => {
  const lockDir = `${path}.lock`;
  try {
    mkdirSync(lockDir, { mode: 0o700 });
  } catch (error) {
    if (systemCode(error) !== "EEXIST") throw error;
    if (!breakIfStale(lockDir, settings.staleMs)) return undefined;
    try {
      mkdirSync(lockDir, { mode: 0o700 });
    } catch (again) {
      if (systemCode(again) === "EEXIST") return undefined;
      throw again;
    }
  }
  const mine = join(lockDir, `${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    mkdirSync(mine, { mode: 0o700 });
  } catch (error) {
    // Broken as stale between our two mkdirs (we stalled): not ours.
    if (systemCode(error) === "ENOENT") return undefined;
    throw error;
  }
  if (readdirSync(lockDir).length !== 1) {
    // We stalled between the two mkdirs and created ours in a lock another
    // writer took over meanwhile: back out. Should both of us see two, the
    // second rmdir frees the lock at once rather than after staleMs.
    ignoring(["ENOENT"], () => rmdirSync(mine));
    ignoring(["ENOENT", "ENOTEMPTY", "EEXIST"], () => rmdirSync(lockDir));
    return undefined;
  }
  return {
    dir: mine,
    assertHeld: () => {
      try {
        statSync(mine);
      } catch (error) {
        if (systemCode(error) === "ENOENT") throw lostLock(path, settings);
        throw writeError(path, `checking the lock ${lockDir}`, error);
      }
    },
    release: () => {
      try {
        rmSync(mine, { recursive: true });
      } catch {
        // Already gone: taken over as stale, and the lock is another writer's now.
        return;
      }
      // Fails (ENOTEMPTY) if another writer took the lock over since the line above.
      ignoring(["ENOENT", "ENOTEMPTY", "EEXIST"], () => rmdirSync(lockDir));
    },
  };
};

/**
 * Takes the `<path>.lock` directory, waiting while another writer holds it. A
 * lock older than `staleMs` is taken over, so a killed writer blocks the next
 * one for at most `staleMs`, and a stalled one finds on waking that it lost
 * the lock (see {@link HeldLock.dir}).
 */
export const acquireLock = async (
  path: string,
  settings: LockSettings,
  deps: LockDeps,
): Promise<HeldLock> => {
  const deadline = deps.now() + settings.timeoutMs;
  const seen = contention.get(path);
  if (seen && deps.now() - seen.at < CONTENDED_MS && ++seen.streak >= STREAK) {
    seen.streak = 0;
    await deps.sleep(YIELD_MS);
  }
  for (let attempt = 1; ; attempt++) {
    let held: HeldLock | undefined;
    try {
      held = tryLock(path, settings);
    } catch (error) {
      throw writeError(path, `taking the lock ${path}.lock`, error);
    }
    if (held) return held;
    contention.set(path, { at: deps.now(), streak: 0 });
    const wait = backoffDelay(attempt, deps.random, POLL);
    if (deps.now() + wait > deadline) {
      throw new CredentialsFileError(
        `credbridge: ${path} stayed locked by another writer for ${settings.timeoutMs} ms. ` +
          `If no writer is running, ${path}.lock is left from a dead one and is taken over once it is ${settings.staleMs} ms old.`,
        { code: "ERR_LOCKED", path, syscallCode: "ELOCKED" },
      );
    }
    await deps.sleep(wait);
  }
};
