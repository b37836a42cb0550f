import { spawn } from "node:child_process";

/** `credbridge serve` as a child process, driven by its JSON log lines. */
export const startServe = (cli: string, args: string[], env: NodeJS.ProcessEnv) => {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
  const log: Record<string, unknown>[] = [];
  const waiters: {
    test: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let partial = "";
  child.stderr.on("data", (d: Buffer) => {
    const parts = (partial + d.toString()).split("\n");
    partial = parts.pop() ?? "";
    for (const text of parts) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      log.push(line);
      for (const w of [...waiters]) {
        if (w.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const waitFor = (test: (l: Record<string, unknown>) => boolean, what: string) => {
    const seen = log.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`credbridge serve: no "${what}" within 15 s`)), 15_000);
      waiters.push({
        test,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void exited.then((code) => reject(new Error(`credbridge serve exited (${code}) before "${what}"`)));
    });
  };
  const urlOf = async (msg: string) => String((await waitFor((l) => l.msg === msg, msg)).url);
  return {
    ready: async () => {
      const [imds, container, metrics] = [
        await urlOf("IMDS listening"),
        await urlOf("container credentials endpoint listening"),
        await urlOf("metrics listening"),
      ];
      for (let i = 0; i < 100; i++) {
        if ((await fetch(`${metrics}/readyz`)).status === 200) return { imds, container, metrics };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("credbridge serve never became ready");
    },
    refresh: async () => {
      const before = log.filter((l) => l.msg === "credentials refreshed").length;
      child.kill("SIGHUP");
      await waitFor(
        (l) =>
          l.msg === "credentials refreshed" &&
          log.filter((x) => x.msg === "credentials refreshed").length > before,
        "credentials refreshed",
      );
      // The file is rewritten right after the refresh: give the refresher its turn.
      await new Promise((r) => setTimeout(r, 300));
    },
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
};
