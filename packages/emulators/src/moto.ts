import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

export interface MotoServer {
  /** `http://127.0.0.1:<port>`: an endpoint for any AWS client moto emulates. */
  readonly url: string;
  /** Process id of the server (the leader of its own process group). */
  readonly pid: number;
  close(): Promise<void>;
}

export interface StartMotoServerOptions {
  /** The program to run. Default `moto_server` from PATH. */
  command?: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** How long to wait for it to answer. Default 30 s (Python imports are slow). */
  startTimeoutMs?: number;
  /**
   * Told why the server is unavailable. Default: a process warning, so a test
   * run that skips moto says why.
   */
  logger?: { warn(message: string): void };
}

const DEFAULT_START_TIMEOUT_MS = 30_000;

const freePort = (host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });

const answers = async (url: string): Promise<boolean> => {
  try {
    const response = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
};

const stop = (child: ChildProcess, signal: NodeJS.Signals): void => {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // The server runs in its own process group: take any children along.
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
};

/**
 * Starts `moto_server` (a Python AWS emulator) on a free loopback port and waits
 * until it answers. Resolves null, after telling the logger why, when the
 * program is not installed; throws when it is installed but does not come up.
 * The server is killed on `close()` and when this process exits.
 */
export const startMotoServer = async (options: StartMotoServerOptions = {}): Promise<MotoServer | null> => {
  const command = options.command ?? "moto_server";
  const host = options.host ?? "127.0.0.1";
  const warn = options.logger
    ? (message: string) => options.logger!.warn(message)
    : (message: string) => process.emitWarning(message, { code: "CREDBRIDGE_MOTO_UNAVAILABLE" });
  const port = await freePort(host);
  const url = `http://${host}:${port}`;

  const child = spawn(command, ["-H", host, "-p", String(port)], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  // Unreferenced: a test run that forgets close() still exits (and the exit hook kills moto).
  child.unref();
  (child.stderr as (NodeJS.ReadableStream & { unref?: () => void }) | null)?.unref?.();
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const killOnExit = () => stop(child, "SIGKILL");
  process.once("exit", killOnExit);
  const exited = new Promise<{ error?: NodeJS.ErrnoException }>((resolve) => {
    child.once("error", (error: NodeJS.ErrnoException) => resolve({ error }));
    child.once("exit", () => resolve({}));
  });

  let gone: { error?: NodeJS.ErrnoException } | undefined;
  void exited.then((result) => {
    gone = result;
    process.off("exit", killOnExit);
  });

  const deadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  while (true) {
    if (gone) {
      if (gone.error?.code === "ENOENT") {
        warn(`moto_server unavailable: '${command}' is not on PATH (pip install 'moto[server]')`);
        return null;
      }
      throw new Error(
        `moto_server exited before answering${gone.error ? `: ${gone.error.message}` : ""}\n${stderr.trim()}`,
      );
    }
    if (await answers(url)) break;
    if (Date.now() > deadline) {
      stop(child, "SIGKILL");
      throw new Error(
        `moto_server did not answer on ${url} within ${options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS} ms\n${stderr.trim()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    pid: child.pid!,
    close: async () => {
      if (gone) return;
      stop(child, "SIGTERM");
      const timer = setTimeout(() => stop(child, "SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
};
