import * as nodeFs from "node:fs";
import { lockSync } from "proper-lockfile";
import { CredentialsFileError } from "../errors.js";
import { backoffDelay } from "./backoff.js";
import { systemCode, writeError } from "./fs-error.js";

export const DEFAULT_STALE_MS = 10_000;
/** proper-lockfile's own floor. */
const MIN_STALE_MS = 2_000;

export interface LockDeps {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export interface HeldLock {
  /** Throws if the lock was lost (taken over as stale) since it was acquired. */
  assertHeld(): void;
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
 * proper-lockfile probes the file system's mtime precision when it takes a lock
 * by setting the lock's mtime to the next whole second plus 5 ms: up to a
 * second in the future, so a writer killed holding that lock would block the
 * next one for up to a second beyond the stale period. The probe works as well
 * with the current time (it only asks whether the file system kept the
 * milliseconds), so that call gets it. (Its sync API calls the *Sync methods.)
 */
const lockFs = {
  ...nodeFs,
  utimesSync: (path: nodeFs.PathLike, atime: nodeFs.TimeLike, mtime: nodeFs.TimeLike) => {
    const at = mtime instanceof Date ? mtime.getTime() : Number.NaN;
    if (at % 1000 === 5 && at > Date.now()) {
      const now = new Date();
      return nodeFs.utimesSync(path, now, now);
    }
    return nodeFs.utimesSync(path, atime, mtime);
  },
};

/**
 * Lock waits poll with backoff from 2 ms to 50 ms (a write holds the lock for
 * about a millisecond; faster polling steals the CPU the holder needs, measured
 * with four busy readers). A waiter that has waited a second polls every 5-10 ms
 * from then on, so a writer that releases and retakes the lock in a loop keeps
 * it from the others less long (seconds, not the whole loop). Sidecars write
 * once per credential lifetime; this only matters for bursts.
 */
const POLL = { initialDelayMs: 2, maxDelayMs: 50, factor: 1.5 };
const STARVING_AFTER_MS = 1_000;
const STARVING_POLL = { initialDelayMs: 10, maxDelayMs: 10 };

/**
 * One attempt at proper-lockfile's lock; throws with code ELOCKED while another
 * writer holds it. Synchronous, like the release and the work in between, so
 * no event-loop turn (which a busy CPU can stretch to tens of milliseconds) is
 * ever spent holding the lock.
 */
const tryLock = (path: string, settings: LockSettings): HeldLock => {
  let compromised: Error | undefined;
  const release = lockSync(path, {
    realpath: false,
    fs: lockFs,
    stale: settings.staleMs,
    update: settings.staleMs / 2,
    onCompromised: (error) => {
      // proper-lockfile's default throws from a timer and kills the process.
      compromised = error;
    },
  });
  return {
    assertHeld: () => {
      if (compromised) {
        throw new CredentialsFileError(
          `credbridge: lost the lock on ${path} (${compromised.message}); the writer stalled for longer than the stale timeout (${settings.staleMs} ms), so another writer may have taken over. Not replacing the file.`,
          { code: "ERR_LOCKED", path, cause: compromised },
        );
      }
    },
    release: () => {
      try {
        release();
      } catch {
        // Already released or taken over as stale: nothing of ours is left to remove.
      }
    },
  };
};

/**
 * Takes proper-lockfile's `<path>.lock` directory, waiting while another writer
 * holds it. A lock whose mtime is older than `staleMs` (its holder died: a live
 * holder refreshes it every `staleMs / 2`) is taken over, so a killed writer
 * blocks the next one for at most `staleMs`.
 */
export const acquireLock = async (
  path: string,
  settings: LockSettings,
  deps: LockDeps,
): Promise<HeldLock> => {
  const started = deps.now();
  const deadline = started + settings.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return tryLock(path, settings);
    } catch (error) {
      if (systemCode(error) !== "ELOCKED") throw writeError(path, `taking the lock ${path}.lock`, error);
      const starving = deps.now() - started > STARVING_AFTER_MS;
      const wait = backoffDelay(attempt, deps.random, starving ? STARVING_POLL : POLL);
      if (deps.now() + wait > deadline) {
        throw new CredentialsFileError(
          `credbridge: ${path} stayed locked by another writer for ${settings.timeoutMs} ms. ` +
            `If no writer is running, ${path}.lock is left from a dead one and is taken over once it is ${settings.staleMs} ms old.`,
          { code: "ERR_LOCKED", path, syscallCode: "ELOCKED", cause: error },
        );
      }
      await deps.sleep(wait);
    }
  }
};
