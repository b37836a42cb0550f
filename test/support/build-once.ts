import { existsSync } from "node:fs";
import { open, readFile, rename, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

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
 * Takes `<target>.lock` (created exclusively, holding our pid). A lock whose
 * holder is gone is taken over: a test run killed mid-build must not block the
 * next one. Polls while a live holder builds.
 */
const lock = async (path: string, timeoutMs: number): Promise<() => Promise<void>> => {
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(path, "wx", 0o644);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      // Renamed away first: of two processes taking over at once, only one succeeds.
      await rename(path, `${path}.stale-${process.pid}`).then(
        () => rm(`${path}.stale-${process.pid}`, { force: true }),
        () => {},
      );
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `waited ${Math.round(timeoutMs / 1000)} s for ${path} (held by pid ${holder || "unknown"}); remove it if no build runs`,
      );
    }
    await sleep(250);
  }
};

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
  timeoutMs = 600_000,
): Promise<{ built: boolean; ms: number }> => {
  const started = Date.now();
  if (existsSync(target)) return { built: false, ms: 0 };
  const release = await lock(`${target}.lock`, timeoutMs);
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
