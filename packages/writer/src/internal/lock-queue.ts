import { randomBytes } from "node:crypto";
import { type DirHandle, openChild } from "@credbridge/core/files";
import type { WriterFs } from "../file-options.js";
import { ignoring, systemCode } from "./fs-error.js";
import type { LockAccess } from "./lock-access.js";

/**
 * The waiters' queue of a lock: `<name>.lock.q/` beside the target, one empty
 * file per waiting writer, named `<wall-clock µs>-<pid>-<random>` so that names
 * sort in order of arrival. It only orders who tries the lock first; the lock
 * itself is still the `<name>.lock` directory. So the queue never stands in
 * the way: a queue this writer may not use (another user's, made 0700 by an
 * older version) or cannot extend (ENOSPC) is simply not joined, and a ticket
 * left by a dead writer costs the others a few milliseconds (see
 * {@link isAbandoned}), never exclusion.
 */
export const queueNameOf = (name: string): string => `${name}.lock.q`;

export interface Ticket {
  readonly name: string;
  /** Names of the tickets queued before this one, in order. */
  ahead(): string[];
  /** Leaves the queue, and removes it when it was the last one in it. */
  leave(): void;
}

/** Opens the queue directory, or undefined when there is none this writer may read. */
const openQueue = (fs: WriterFs, dir: DirHandle, name: string): DirHandle | undefined => {
  try {
    return openChild(fs, dir, queueNameOf(name));
  } catch (error) {
    const code = systemCode(error);
    if (
      code === "ENOENT" ||
      code === "EACCES" ||
      code === "EPERM" ||
      code === "ELOOP" ||
      code === "ENOTDIR"
    ) {
      return undefined;
    }
    throw error;
  }
};

/** The tickets queued for the lock on `name`, in order of arrival. */
export const queued = (fs: WriterFs, dir: DirHandle, name: string): string[] => {
  const queue = openQueue(fs, dir, name);
  if (!queue) return [];
  try {
    return fs.readdirSync(queue.at("")).sort();
  } catch (error) {
    if (systemCode(error) === "EACCES" || systemCode(error) === "ENOENT") return [];
    throw error;
  } finally {
    queue.close();
  }
};

// Wall clock, as other processes read it, in µs: arrivals a millisecond apart stay in order.
// Only the order of arrival and a waiter's priority rest on it, never exclusion.
const wallMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1_000);

/** How long the writer that took the ticket `name` has been waiting, by the wall clock. */
export const waitedMs = (name: string): number => (wallMicros() - Number(name.split("-")[0])) / 1_000;

const removeQueueIfEmpty = (fs: WriterFs, dir: DirHandle, name: string) =>
  ignoring(["ENOENT", "ENOTEMPTY", "EEXIST", "ENOTDIR", "EACCES", "EPERM"], () =>
    fs.rmdirSync(dir.at(queueNameOf(name))),
  );

/**
 * Queues this writer, or returns undefined when it cannot (see
 * {@link queueNameOf}); a queue directory it made for a ticket it then could
 * not create is removed again.
 */
export const takeTicket = (
  fs: WriterFs,
  dir: DirHandle,
  name: string,
  access: LockAccess,
): Ticket | undefined => {
  const ticket = `${String(wallMicros()).padStart(17, "0")}-${process.pid}-${randomBytes(4).toString("hex")}`;
  for (let attempt = 0; attempt < 8; attempt++) {
    let made = false;
    try {
      fs.mkdirSync(dir.at(queueNameOf(name)), { mode: 0o700 });
      made = true;
    } catch (error) {
      if (systemCode(error) !== "EEXIST") return undefined;
    }
    const queue = openQueue(fs, dir, name);
    if (!queue) {
      if (made) removeQueueIfEmpty(fs, dir, name);
      continue;
    }
    try {
      if (made) access(queue.fd);
      fs.closeSync(fs.openSync(queue.at(ticket), "wx", 0o600));
    } catch (error) {
      queue.close();
      if (made) removeQueueIfEmpty(fs, dir, name);
      // The last waiter removed the queue between our mkdir and open: make it again.
      if (systemCode(error) === "ENOENT") continue;
      return undefined;
    }
    return {
      name: ticket,
      // Our own file may be gone (removed as abandoned); our name still places us.
      ahead: () => queued(fs, dir, name).filter((n) => n < ticket),
      leave: () => {
        ignoring(["ENOENT"], () => fs.unlinkSync(queue.at(ticket)));
        queue.close();
        removeQueueIfEmpty(fs, dir, name);
      },
    };
  }
  return undefined;
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
 * Whether the ticket `name` was left by a writer that no longer waits because
 * its process is gone. (A pid reused, or one from another pid namespace sharing
 * the volume, looks alive: the waiter that watches such a ticket at the head
 * for a stale period drops it anyway.) A ticket wrongly judged abandoned only
 * loses its place.
 */
export const isAbandoned = (name: string): boolean => {
  const pid = Number(name.split("-")[1]);
  return !Number.isInteger(pid) || pid <= 0 || !isAlive(pid);
};

/** Removes an abandoned ticket. */
export const dropTicket = (fs: WriterFs, dir: DirHandle, name: string, ticket: string): void => {
  const queue = openQueue(fs, dir, name);
  if (!queue) return;
  try {
    ignoring(["ENOENT", "EACCES", "EPERM"], () => fs.unlinkSync(queue.at(ticket)));
  } finally {
    queue.close();
  }
};
