import { randomBytes } from "node:crypto";
import { backoffDelay } from "@credbridge/core";
import { type DirHandle, openChild } from "@credbridge/core/files";
import { CredentialsFileError, isCredentialsFileError } from "../errors.js";
import type { WriterFs } from "../file-options.js";
import { ignoring, systemCode, writeError } from "./fs-error.js";
import { type LockAccess, lockAccessOf } from "./lock-access.js";
import { dropTicket, isAbandoned, queued, type Ticket, takeTicket, waitedMs } from "./lock-queue.js";
import { breakLock, type LockSighting, lockNameOf, removeTree, sightLock } from "./lock-stale.js";

export const DEFAULT_STALE_MS = 10_000;
/**
 * A live holder never refreshes its lock (the work under it is one synchronous
 * stretch), so the stale period must outlast the slowest fsync we expect.
 */
const MIN_STALE_MS = 2_000;

export interface LockDeps {
  /**
   * Milliseconds on a clock that only moves forward at the pace of real time
   * (performance.now() by default): waits, the deadline and the stale period
   * are measured on it, so a stepped wall clock changes none of them.
   */
  monotonic(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
}

/** The file a lock is for. */
export interface LockTarget {
  /** Its directory, open: the lock and its queue are made in exactly this directory. */
  dir: DirHandle;
  /** Its name in `dir`. */
  name: string;
  /** Its path, for messages. */
  path: string;
  /** The owner it is written for, if given: locks in a sticky directory go to that user. */
  owner?: { uid: number; gid: number } | undefined;
}

export interface HeldLock {
  /**
   * A directory inside the lock that only this holder uses, open. Another
   * writer that takes the lock over as stale removes it, so a file created in
   * it and renamed out of it can reach the target only while the lock is still ours.
   */
  readonly holder: DirHandle;
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
 * nobody else takes the lock before it, until this waiter has seen the lock
 * stand free for HEAD_GRACE_MS: a strict order makes every hand-over wait for
 * one particular process to be scheduled, which with busy readers on two cores
 * stretched 8 writers' runs four to ten times, and a dead waiter would stall
 * everyone. The first polls every HEAD_POLL_MS, the others every 1-4 ms. File
 * system events (fs.watch) instead of polls woke every waiter at every change,
 * and on two busy cores that herd was slower still.
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

const stopped = (path: string, signal: AbortSignal) =>
  new CredentialsFileError(
    `credbridge: stopped (${String(signal.reason ?? "aborted")}) while waiting for the lock on ${path}; the file is unchanged.`,
    { code: "ERR_ABORTED", path, cause: signal.reason },
  );

/** Whether the directory entry at `at` is still the directory `handle` is open on. */
const stillThere = (fs: WriterFs, at: string, handle: DirHandle): boolean => {
  try {
    const there = fs.lstatSync(at);
    const mine = handle.stat();
    return there.ino === mine.ino && there.dev === mine.dev;
  } catch (error) {
    if (systemCode(error) === "ENOENT") return false;
    throw error;
  }
};

/**
 * One attempt: `mkdir <name>.lock` excludes the other writers; the holder
 * directory `<name>.lock/<pid>-<random>` names us. Both are made in the
 * directories this writer holds open, never through a path another user could
 * redirect, and given the permissions of the target's directory (see
 * lock-access.ts). Synchronous, like the work under the lock and the release,
 * so no event-loop turn (which a busy CPU can stretch to tens of milliseconds)
 * is ever spent holding it. Returns undefined while another writer holds it;
 * whatever fails after the mkdir removes what this attempt made.
 */
const tryLock = (
  fs: WriterFs,
  target: LockTarget,
  access: LockAccess,
  settings: LockSettings,
): HeldLock | undefined => {
  const lockName = lockNameOf(target.name);
  try {
    fs.mkdirSync(target.dir.at(lockName), { mode: 0o700 });
  } catch (error) {
    if (systemCode(error) === "EEXIST") return undefined;
    throw error;
  }
  let lock: DirHandle | undefined;
  let holder: DirHandle | undefined;
  let holderName: string | undefined;
  let taken = false;
  try {
    try {
      lock = openChild(fs, target.dir, lockName);
    } catch (error) {
      // Broken as stale, or replaced, between our mkdir and open (we stalled): not ours.
      if (["ENOENT", "ELOOP", "ENOTDIR"].includes(systemCode(error) ?? "")) return undefined;
      throw error;
    }
    access(lock.fd);
    const name = `${process.pid}-${randomBytes(6).toString("hex")}`;
    try {
      fs.mkdirSync(lock.at(name), { mode: 0o700 });
    } catch (error) {
      // Broken as stale between our two mkdirs (we stalled): not ours.
      if (systemCode(error) === "ENOENT") return undefined;
      throw error;
    }
    holderName = name;
    holder = openChild(fs, lock, name);
    access(holder.fd);
    // We stalled between the two mkdirs and created ours in a lock another
    // writer took over meanwhile: back out. Should both of us see two, the
    // second rmdir frees the lock at once rather than after staleMs.
    if (fs.readdirSync(lock.at("")).length !== 1 || !stillThere(fs, target.dir.at(lockName), lock)) {
      return undefined;
    }
    taken = true;
  } finally {
    // ENOSPC, EDQUOT, a failed chmod...: nothing of this attempt stays to block the next writer.
    if (!taken) cleanUp(fs, target, lock, holderName, holder);
  }
  // Fully taken: from here on the lock is the caller's.
  const [heldLock, heldHolder, heldName] = [lock as DirHandle, holder as DirHandle, holderName as string];
  let released = false;
  return {
    holder: heldHolder,
    assertHeld: () => {
      try {
        if (
          !stillThere(fs, heldLock.at(heldName), heldHolder) ||
          !stillThere(fs, target.dir.at(lockName), heldLock)
        ) {
          throw lostLock(target.path, settings);
        }
      } catch (error) {
        if (isCredentialsFileError(error)) throw error;
        throw writeError(target.path, `checking the lock ${target.path}.lock`, error);
      }
    },
    release: () => {
      if (released) return;
      released = true;
      cleanUp(fs, target, heldLock, heldName, heldHolder);
    },
  };
};

/**
 * Removes this writer's holder directory and, when it is still the lock at the
 * target's side, the lock: never another writer's, should ours have been taken
 * over as stale meanwhile (then ours is already gone, and an rmdir of theirs
 * would fail on their holder anyway).
 */
const cleanUp = (
  fs: WriterFs,
  target: LockTarget,
  lock: DirHandle | undefined,
  holderName: string | undefined,
  holder: DirHandle | undefined,
): void => {
  holder?.close();
  if (!lock) return;
  try {
    if (holderName !== undefined) {
      try {
        removeTree(fs, lock, holderName, `${target.path}.lock/${holderName}`);
      } catch {
        // Gone with a takeover, or made unremovable by someone else: the rmdir below then fails too.
      }
    }
    const lockName = lockNameOf(target.name);
    if (stillThere(fs, target.dir.at(lockName), lock)) {
      ignoring(["ENOENT", "ENOTEMPTY", "EEXIST"], () => fs.rmdirSync(target.dir.at(lockName)));
    }
  } catch {
    // Release is best effort: a lock left here is broken as stale by the next writer.
  } finally {
    lock.close();
  }
};

/**
 * Takes the `<name>.lock` directory in the target's directory, waiting while
 * another writer holds it. A lock this waiter has seen unchanged for
 * `staleMs`, by its own monotonic clock, is taken over: a killed writer blocks
 * the next one for about `staleMs`, a stalled one finds on waking that it lost
 * the lock (see {@link HeldLock.holder}), and no clock (a step back, a file
 * server's clock ahead of ours) can make a dead lock look fresh or a live one
 * old. Gives up after `timeoutMs` with ERR_LOCKED, or when `signal` aborts
 * with ERR_ABORTED, leaving nothing of its own behind.
 */
export const acquireLock = async (
  fs: WriterFs,
  target: LockTarget,
  settings: LockSettings,
  deps: LockDeps,
  signal?: AbortSignal,
): Promise<HeldLock> => {
  const deadline = deps.monotonic() + settings.timeoutMs;
  let access: LockAccess;
  try {
    access = lockAccessOf(fs, target.dir, target.owner);
  } catch (error) {
    throw writeError(target.path, `reading the directory of ${target.path}`, error);
  }
  let ticket: Ticket | undefined;
  let queuedOnce = false;
  // The first in the queue as this waiter saw it: since when, and when last checked for abandonment.
  let head: { name: string; since: number; checked: number } | undefined;
  // The lock as this waiter last saw it, and since when it has looked exactly so.
  let seen: (LockSighting & { since: number }) | undefined;
  // The target's directory, unchanged and without a lock, since when.
  let free: { token: string; since: number } | undefined;
  const freeForMs = (now: number): number => {
    if (sightLock(fs, target.dir, target.name) !== undefined) {
      free = undefined;
      return 0;
    }
    const st = target.dir.stat();
    const token = `${st.mtimeMs}:${st.ctimeMs}`;
    if (free?.token !== token) free = { token, since: now };
    return now - free.since;
  };
  try {
    for (let polls = 1; ; polls++) {
      if (signal?.aborted) throw stopped(target.path, signal);
      let wait: number;
      try {
        const now = deps.monotonic();
        const [first] = ticket ? ticket.ahead() : queued(fs, target.dir, target.name);
        let mayTry = first === undefined || waitedMs(first) < PRIORITY_AFTER_MS;
        if (mayTry || first === undefined) {
          head = undefined;
        } else {
          if (head?.name !== first) head = { name: first, since: now, checked: now };
          if (now - head.checked >= HEAD_GRACE_MS) {
            head.checked = now;
            if (isAbandoned(first) || now - head.since >= settings.staleMs) {
              dropTicket(fs, target.dir, target.name, first);
            }
          }
          mayTry = freeForMs(now) >= HEAD_GRACE_MS;
        }
        if (mayTry) {
          const held = tryLock(fs, target, access, settings);
          if (held) return held;
        }
        const sighting = sightLock(fs, target.dir, target.name);
        if (sighting === undefined) {
          seen = undefined;
        } else if (seen?.id !== sighting.id) {
          seen = { ...sighting, since: now };
        } else if (now - seen.since >= settings.staleMs) {
          const broken = breakLock(fs, target.dir, target.name, target.path, seen, settings.staleMs);
          seen = undefined;
          if (broken) continue;
        }
        if (!queuedOnce) {
          queuedOnce = true;
          ticket = takeTicket(fs, target.dir, target.name, access);
        }
        wait = first === undefined ? HEAD_POLL_MS : backoffDelay(polls, deps.random, POLL);
      } catch (error) {
        if (isCredentialsFileError(error)) throw error;
        throw writeError(target.path, `taking the lock ${target.path}.lock`, error);
      }
      if (deps.monotonic() + wait > deadline) {
        throw new CredentialsFileError(
          `credbridge: ${target.path} stayed locked by another writer for ${settings.timeoutMs} ms. ` +
            `If no writer is running, ${target.path}.lock is left from a dead one and is taken over once it has been seen unchanged for ${settings.staleMs} ms.`,
          { code: "ERR_LOCKED", path: target.path, syscallCode: "ELOCKED" },
        );
      }
      try {
        await deps.sleep(wait, signal);
      } catch (error) {
        if (signal?.aborted) throw stopped(target.path, signal);
        throw error;
      }
    }
  } finally {
    ticket?.leave();
  }
};
