import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { backoffDelay } from "@credbridge/core";
import { CredentialsFileError } from "../errors.js";
import { ignoring, systemCode, writeError } from "./fs-error.js";
import { dropTicket, isAbandoned, queued, type Ticket, takeTicket, waitedMs } from "./lock-queue.js";

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
 * Fairness with a deadline. With a free-for-all, the writer that just released
 * the lock is already on the CPU and retakes it while the others sleep until
 * their next poll (runs of 50-90 writes by one of 8 processes, a p99 of 200 ms
 * and more). So a writer that finds the lock held takes a ticket (see
 * lock-queue.ts), and once the first in the queue has waited PRIORITY_AFTER_MS
 * nobody else takes the lock before it, until the lock has stood free for
 * HEAD_GRACE_MS: a strict order makes every hand-over wait for one particular
 * process to be scheduled, which with busy readers on two cores stretched 8
 * writers' runs four to ten times, and a dead waiter would stall everyone.
 * The first polls every HEAD_POLL_MS, the others every 1-4 ms. File system
 * events (fs.watch) instead of polls woke every waiter at every change, and on
 * two busy cores that herd was slower still.
 */
const HEAD_POLL_MS = 1;
const POLL = { initialDelayMs: 1, maxDelayMs: 4 };
const HEAD_GRACE_MS = 2;
/**
 * Below 8 writers' round of hand-overs on tmpfs (about 12 ms when each waits
 * for the first to be scheduled), so there the order is kept only for the
 * unlucky; on a disk, where a round is 8 fsyncs, it is kept throughout.
 */
const PRIORITY_AFTER_MS = 20;

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
 * How long the lock on `path` has been free, at least, or undefined while it
 * is held. Releasing it (rmdir) is the last change to the target's directory,
 * whose mtime (wall clock, at the kernel's coarse granularity) therefore says
 * when; a write since then only makes the lock look free for less long.
 */
const freeForMs = (path: string): number | undefined => {
  try {
    statSync(`${path}.lock`);
    return undefined;
  } catch (error) {
    if (systemCode(error) !== "ENOENT") throw error;
  }
  return Date.now() - statSync(dirname(path)).mtimeMs;
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
  let ticket: Ticket | undefined;
  // The first in the queue as this waiter saw it, and when it was last checked for abandonment.
  let head: { name: string; checked: number } | undefined;
  try {
    for (let polls = 1; ; polls++) {
      let held: HeldLock | undefined;
      let wait: number;
      try {
        const [first] = ticket ? ticket.ahead() : queued(path);
        const now = deps.now();
        let mayTry = first === undefined || waitedMs(first) < PRIORITY_AFTER_MS;
        if (mayTry || first === undefined) {
          head = undefined;
        } else {
          if (head?.name !== first) head = { name: first, checked: now };
          if (now - head.checked >= HEAD_GRACE_MS) {
            head.checked = now;
            if (isAbandoned(path, first, 2 * settings.timeoutMs)) dropTicket(path, first);
          }
          mayTry = (freeForMs(path) ?? 0) >= HEAD_GRACE_MS;
        }
        if (mayTry) held = tryLock(path, settings);
        if (held) return held;
        ticket ??= takeTicket(path);
        wait = first === undefined ? HEAD_POLL_MS : backoffDelay(polls, deps.random, POLL);
      } catch (error) {
        throw writeError(path, `taking the lock ${path}.lock`, error);
      }
      if (deps.now() + wait > deadline) {
        throw new CredentialsFileError(
          `credbridge: ${path} stayed locked by another writer for ${settings.timeoutMs} ms. ` +
            `If no writer is running, ${path}.lock is left from a dead one and is taken over once it is ${settings.staleMs} ms old.`,
          { code: "ERR_LOCKED", path, syscallCode: "ELOCKED" },
        );
      }
      await deps.sleep(wait);
    }
  } finally {
    ticket?.leave();
  }
};
