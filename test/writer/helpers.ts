import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { run } from "../support/run.js";

export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const live = new Set<ChildProcess>();

/** Kills every fixture still running: for `afterEach`, so a failed test leaves no process behind. */
export const killFixtures = () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  live.clear();
};

/** Forks a fixture with an IPC channel; stdout is collected. */
export const forkFixture = (name: string, args: string[], options: { uid?: number; gid?: number } = {}) => {
  const child = fork(fixture(name), args, { stdio: ["ignore", "pipe", "pipe", "ipc"], ...options });
  live.add(child);
  child.once("exit", () => live.delete(child));
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const exited = once(child, "exit").then(([code, signal]) => ({ code, signal, stdout, stderr }));
  return { child, exited };
};

/** Resolves with the first IPC message equal to `want` (or any, when undefined). */
export const nextMessage = (child: ChildProcess, want?: unknown) =>
  new Promise<unknown>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (want === undefined || m === want) {
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(m);
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`child exited (${code}) before sending ${String(want)}`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });

export const lastJsonLine = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1) ?? "null");

/** Whether a process is stopped (SIGSTOP): its state in /proc, else as `ps` reports it. */
export const isStopped = async (pid: number): Promise<boolean> => {
  let state: string;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    state = (await run("ps", ["-o", "stat=", "-p", String(pid)])).stdout.trim().slice(0, 1);
  }
  return state === "T";
};
