import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readdirSync, rmdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ignoring, systemCode } from "./fs-error.js";

/**
 * The waiters' queue of a lock: `<path>.lock.q/`, one empty file per waiting
 * writer, named `<wall-clock µs>-<pid>-<random>` so that names sort in order of
 * arrival. It only orders who tries the lock first; the lock itself is still
 * the `<path>.lock` directory, so a queue file left by a dead writer can cost
 * the others a few milliseconds (see {@link isAbandoned}), never exclusion.
 */
export const queueDirOf = (path: string): string => `${path}.lock.q`;

export interface Ticket {
  readonly name: string;
  /** Names of the tickets queued before this one, in order. */
  ahead(): string[];
  /** Leaves the queue, and removes it when it was the last one in it. */
  leave(): void;
}

/** The tickets queued for the lock on `path`, in order of arrival. */
export const queued = (path: string): string[] => {
  try {
    return readdirSync(queueDirOf(path)).sort();
  } catch (error) {
    if (systemCode(error) === "ENOENT") return [];
    throw error;
  }
};

// Wall clock, as other processes read it, in µs: arrivals a millisecond apart stay in order.
const wallMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1_000);

/** How long the writer that took the ticket `name` has been waiting. */
export const waitedMs = (name: string): number => (wallMicros() - Number(name.split("-")[0])) / 1_000;

/** Queues this writer. Throws ENOENT (from mkdir) when the target's directory is missing. */
export const takeTicket = (path: string): Ticket => {
  const queueDir = queueDirOf(path);
  const name = `${String(wallMicros()).padStart(17, "0")}-${process.pid}-${randomBytes(4).toString("hex")}`;
  const file = join(queueDir, name);
  for (;;) {
    ignoring(["EEXIST"], () => mkdirSync(queueDir, { mode: 0o700 }));
    try {
      closeSync(openSync(file, "wx", 0o600));
      break;
    } catch (error) {
      // The last waiter removed the queue between our mkdir and open: make it again.
      if (systemCode(error) !== "ENOENT") throw error;
    }
  }
  return {
    name,
    // Our own file may be gone (removed as abandoned); our name still places us.
    ahead: () => queued(path).filter((n) => n < name),
    leave: () => {
      ignoring(["ENOENT"], () => unlinkSync(file));
      ignoring(["ENOENT", "ENOTEMPTY", "EEXIST"], () => rmdirSync(queueDir));
    },
  };
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, another user's.
    return systemCode(error) !== "ESRCH";
  }
};

/**
 * Whether the ticket `name` was left by a writer that no longer waits: its
 * process is gone, or it is older than `maxWaitMs`, longer than any waiter
 * waits (which also covers a pid reused, or one from another pid namespace
 * sharing the volume). A ticket wrongly judged abandoned only loses its place.
 */
export const isAbandoned = (path: string, name: string, maxWaitMs: number): boolean => {
  const pid = Number(name.split("-")[1]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return true;
  try {
    // File mtimes are wall-clock time, whatever clock the runtime was given.
    return statSync(join(queueDirOf(path), name)).mtimeMs < Date.now() - maxWaitMs;
  } catch (error) {
    if (systemCode(error) === "ENOENT") return false;
    throw error;
  }
};

/** Removes an abandoned ticket. */
export const dropTicket = (path: string, name: string): void => {
  ignoring(["ENOENT"], () => unlinkSync(join(queueDirOf(path), name)));
};
