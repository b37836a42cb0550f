import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { HERE, type Place } from "../../support/place.js";
import type { ResolvedCredentials } from "./world.js";

/** The test package's directory: Node clients resolve their SDKs from its node_modules. */
export const TEST_DIR = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** One answer of a client process: one JSON line per command. */
export interface Reply {
  ok: boolean;
  creds?: ResolvedCredentials & { provider?: string };
  /** GetCallerIdentity's Arn, for `call`. */
  arn?: string;
  error?: string;
  /** The SDK's error code, when a call failed. */
  code?: string;
  /** First line only: SDK versions. */
  versions?: Record<string, string>;
}

/**
 * A long-running SDK client process, driven one stdin line at a time. It
 * prints a first line with its versions (or an error and exits when its SDK is
 * missing), then one JSON line per command: `get` (credentials as the SDK
 * resolves them now), `call` (sts:GetCallerIdentity signed with them), and
 * client-specific ones.
 */
export interface LineClient {
  /** The first line: versions. Rejects with `missing` when the client cannot start. */
  ready: Promise<Reply>;
  /** Sends a command and resolves with the answer, whether ok or not. */
  send(command: string): Promise<Reply>;
  /** Sends a command and resolves with the answer, rejecting unless ok. */
  ask(command: string): Promise<Reply>;
  stderr(): string;
  close(): Promise<void>;
}

export const startLineClient = (
  command: string,
  args: string[],
  env: Record<string, string>,
  /** The fix to name when the client cannot run, e.g. "install Debian's python3-boto3". */
  missing: string,
  /** Where it runs: here, or in a network namespace whose 169.254.169.254 is a test's IMDS. */
  place: Place = HERE,
): LineClient => {
  const [program, argv] = place.wrap(command, args);
  const child: ChildProcessWithoutNullStreams = spawn(program, argv, { cwd: TEST_DIR, env, stdio: "pipe" });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    stderr += d;
  });
  const waiting: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  let gone: Error | undefined;
  const fail = (error: Error) => {
    gone ??= error;
    for (const w of waiting.splice(0)) w.reject(gone);
  };
  child.on("error", (e) => fail(new Error(`${command} cannot run (${missing}): ${e.message}`)));
  child.on("exit", (code, signal) =>
    fail(new Error(`${command} exited (${code ?? signal}) (${missing}?); stderr:\n${stderr}`)),
  );
  createInterface({ input: child.stdout }).on("line", (line) => waiting.shift()?.resolve(line));

  const next = (): Promise<Reply> =>
    new Promise<string>((resolve, reject) => {
      if (gone) return reject(gone);
      waiting.push({ resolve, reject });
    }).then((line) => {
      try {
        return JSON.parse(line) as Reply;
      } catch {
        throw new Error(`${command} printed a line that is not JSON: ${line}\nstderr:\n${stderr}`);
      }
    });

  const ready = next().then((reply) => {
    if (!reply.ok)
      throw new Error(`${command} cannot start (${missing}): ${reply.error}\nstderr:\n${stderr}`);
    return reply;
  });
  // Reported through `ready`; this only keeps an early exit from being an unhandled rejection.
  ready.catch(() => {});

  const send = async (cmd: string): Promise<Reply> => {
    await ready;
    const answer = next();
    child.stdin.write(`${cmd}\n`);
    return answer;
  };

  return {
    ready,
    send,
    ask: async (cmd) => {
      const reply = await send(cmd);
      if (!reply.ok) throw new Error(`${command} ${cmd} failed: ${reply.error}\nstderr:\n${stderr}`);
      return reply;
    },
    stderr: () => stderr,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
};
