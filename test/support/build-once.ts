import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { vi } from "vitest";

/** Whether a process with this pid runs on this machine (EPERM: it does, as another user). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * One try at `path` (created exclusively, holding our pid): its release, or
 * the pid of the live holder. A lock whose holder is gone is taken over: a
 * test run killed mid-build must not block the next one. Synchronous, so a
 * try that a timeout abandons never takes the lock afterwards.
 */
const tryLock = (path: string): { release: () => Promise<void> } | { holder: number } => {
  for (;;) {
    try {
      const fd = openSync(path, "wx", 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(path, "utf8").trim());
    } catch {}
    if (!Number.isInteger(holder) || holder <= 0 || alive(holder)) return { holder };
    // Renamed away first: of two processes taking over at once, only one succeeds.
    try {
      renameSync(path, `${path}.stale-${process.pid}`);
      rmSync(`${path}.stale-${process.pid}`, { force: true });
    } catch {}
  }
};

/**
 * Takes `<target>.lock`, waiting (through vitest's waitFor) while a live
 * holder builds; `onWait` is told each time it finds the lock held.
 */
const lock = async (path: string, timeoutMs: number, onWait?: () => void): Promise<() => Promise<void>> => {
  let release: (() => Promise<void>) | undefined;
  await vi.waitFor(
    () => {
      const tried = tryLock(path);
      if ("release" in tried) {
        release = tried.release;
        return;
      }
      onWait?.();
      throw new Error(
        `waited ${Math.round(timeoutMs / 1000)} s for ${path} (held by pid ${tried.holder || "unknown"}); remove it if no build runs`,
      );
    },
    { timeout: timeoutMs, interval: 250 },
  );
  return release!;
};

export interface BuildOnceOptions {
  /** How long to wait for another builder. Default 10 minutes. */
  timeoutMs?: number;
  /** Told each time this caller finds another builder holding the lock. */
  onWait?: () => void;
}

/**
 * Makes `target` (a file or a directory) once per machine and keeps it: test
 * files and concurrent test runs (several Node versions at once) that need it
 * take a lock, and only the first builds while the others wait. `build`
 * writes to the temporary path it is given, which is renamed into place, so
 * nobody ever sees a half-built target.
 */
export const buildOnce = async (
  target: string,
  build: (temporary: string) => Promise<void>,
  { timeoutMs = 600_000, onWait }: BuildOnceOptions = {},
): Promise<{ built: boolean; ms: number }> => {
  const started = Date.now();
  if (existsSync(target)) return { built: false, ms: 0 };
  const release = await lock(`${target}.lock`, timeoutMs, onWait);
  try {
    if (existsSync(target)) return { built: false, ms: Date.now() - started };
    const temporary = `${target}.building-${process.pid}`;
    await rm(temporary, { recursive: true, force: true });
    try {
      await build(temporary);
      await rename(temporary, target);
    } finally {
      await rm(temporary, { recursive: true, force: true });
    }
    return { built: true, ms: Date.now() - started };
  } finally {
    await release();
  }
};
