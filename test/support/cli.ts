import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { expect } from "vitest";
import type { Place } from "./place.js";
import { type Finished, run } from "./run.js";

/**
 * Where a workspace package's bin `name` is, from the `bin` of its manifest:
 * what a package manager links, so tests run what users run, never a build path.
 */
export const packageBin = (pkg: string, name: string): string => {
  const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifest, "utf8")) as { bin?: string | Record<string, string> };
  const path = typeof bin === "string" ? bin : bin?.[name];
  if (path === undefined) throw new Error(`${pkg} declares no bin ${name}`);
  return join(dirname(manifest), path);
};

/** The launcher users get as `credbridge` (it runs the bundle `pnpm run build` makes). */
export const CLI = packageBin("@credbridge/cli", "credbridge");

/** A minimal environment: nothing of the developer's AWS set-up leaks in. */
export const cleanEnv = (
  home: string,
  extra: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: home,
  LANG: "C.UTF-8",
  ...extra,
});

/** What a finished `credbridge` printed, and how it exited. */
export type CliResult = Finished;

/** Runs `credbridge ARGS` to completion. */
export const runCli = (args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> =>
  run(process.execPath, [CLI, ...args], { env, timeoutMs, name: `credbridge ${args.join(" ")}` });

/** Runs a command line somewhere else, e.g. `ip netns exec <name> …` (a `Place`'s `wrap`). */
export type Wrap = Place["wrap"];

/** A long-running `credbridge` whose JSON log lines can be awaited. */
export const startCli = (args: string[], env: NodeJS.ProcessEnv, wrap?: Wrap) => {
  const [command, argv] = wrap ? wrap(process.execPath, [CLI, ...args]) : [process.execPath, [CLI, ...args]];
  const child: ChildProcess = spawn(command, argv, {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stdout = "";
  const waiters: {
    test: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let partial = "";
  child.stdout!.on("data", (d) => {
    stdout += d;
  });
  child.stderr!.on("data", (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (const w of [...waiters]) {
        if (w.test(parsed)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    stdout: () => stdout,
    exited,
    /** Resolves with the first log line (past or future) that passes `test`. */
    waitFor: (test: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000) => {
      for (const line of lines) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (test(parsed)) return Promise.resolve(parsed);
        } catch {}
      }
      return new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching log line in ${timeoutMs} ms; log:\n${lines.join("\n")}`)),
          timeoutMs,
        );
        waiters.push({
          test,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
};

/** A `credbridge` started by {@link startCli}. */
export type RunningCli = ReturnType<typeof startCli>;

/** What `credbridge serve` logs, with the URL, once each of its servers listens. */
const LISTENING = {
  imds: "IMDS listening",
  container: "container credentials endpoint listening",
  metrics: "metrics listening",
} as const;

/** The URL one of `serve`'s servers listens on, from its log line (useful with port 0). */
export const listeningUrl = async (cli: RunningCli, server: keyof typeof LISTENING): Promise<string> =>
  String((await cli.waitFor((l) => l.msg === LISTENING[server])).url);

/**
 * `serve`'s metrics URL once its /readyz answers 200 (its first credentials are
 * out), as the kubelet's startup probe waits for it.
 */
export const readyMetricsUrl = async (cli: RunningCli, timeoutMs: number): Promise<string> => {
  const metrics = await listeningUrl(cli, "metrics");
  await expect.poll(async () => (await fetch(`${metrics}/readyz`)).status, { timeout: timeoutMs }).toBe(200);
  return metrics;
};

/** `serve` flags for IMDS and the container endpoint on free loopback ports, the endpoint's token in `tokenFile`. */
export const loopbackServers = (tokenFile: string): string[] => [
  "--imds",
  "127.0.0.1:0",
  "--container-endpoint",
  "127.0.0.1:0",
  "--container-auth-token-file",
  tokenFile,
];
