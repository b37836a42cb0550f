import { lock } from "proper-lockfile";
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
  release(): Promise<void>;
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

/** Lock waits poll fast: a write holds the lock for about a millisecond. */
const POLL = { initialDelayMs: 2, maxDelayMs: 50, factor: 1.5 };

/**
 * Takes proper-lockfile's `<path>.lock` directory, polling while another writer
 * holds it. A lock whose mtime is older than `staleMs` (its holder died: a live
 * holder refreshes it every `staleMs / 2`) is taken over, so a killed writer
 * blocks the next one for at most `staleMs`.
 */
export const acquireLock = async (
  path: string,
  settings: LockSettings,
  deps: LockDeps,
): Promise<HeldLock> => {
  const deadline = deps.now() + settings.timeoutMs;
  let compromised: Error | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const release = await lock(path, {
        realpath: false,
        stale: settings.staleMs,
        update: settings.staleMs / 2,
        retries: 0,
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
        release: async () => {
          try {
            await release();
          } catch {
            // Already released or taken over as stale: nothing of ours is left to remove.
          }
        },
      };
    } catch (error) {
      if (systemCode(error) !== "ELOCKED") throw writeError(path, `taking the lock ${path}.lock`, error);
      const wait = backoffDelay(attempt, deps.random, POLL);
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
