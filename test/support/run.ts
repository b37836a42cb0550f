import { spawn } from "node:child_process";

/** How a process ended, and everything it printed. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Written to its stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Past this it is killed (SIGKILL) and the run rejects; unbounded without it. */
  timeoutMs?: number;
  /** The fix to name when it cannot start, e.g. "install Debian's awscli". */
  missing?: string;
  /** What the errors call it; the command line by default. */
  name?: string;
}

/**
 * Runs `command args` to completion, collecting its output; resolves however
 * it exits (the caller judges the code), rejects only when it cannot start or
 * outlives `timeoutMs`. The one spawn-and-collect the tests share.
 */
export const run = (command: string, args: readonly string[], options: RunOptions = {}): Promise<Finished> =>
  new Promise((resolve, reject) => {
    const { input, timeoutMs, missing, name = [command, ...args].join(" "), ...spawnOptions } = options;
    const child = spawn(command, args, {
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      ...spawnOptions,
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => {
      stdout += d;
    });
    child.stderr!.on("data", (d) => {
      stderr += d;
    });
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`${name} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
          }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(missing === undefined ? error : new Error(`${name} cannot run (${missing}): ${error.message}`));
    });
    // "close", not "exit": the output may still be in the pipes when the process exits.
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
