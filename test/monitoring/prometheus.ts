import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { vi } from "vitest";
import { stringify } from "yaml";

export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
  activeAt: string;
  value: string;
}

/** A port nobody listens on now, on loopback; Prometheus cannot report one it picked itself. */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** What Prometheus logs (level info) once its web API answers: the readiness it reports at /-/ready. */
const READY = "Server is ready to receive web requests.";

/**
 * Debian's `prometheus`, started on loopback with a generated config: the
 * given scrape configs scraped and the rules evaluated every second, its
 * storage in `dir`. A missing binary fails, naming the package.
 */
export const startPrometheus = async (
  dir: string,
  options: { rulesFile: string; scrapeConfigs: unknown[]; intervalSeconds?: number },
) => {
  const interval = `${options.intervalSeconds ?? 1}s`;
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, "prometheus.yml");
  await writeFile(
    configFile,
    stringify({
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: [options.rulesFile],
      scrape_configs: options.scrapeConfigs,
    }),
  );

  let child: ChildProcess | undefined;
  let log = "";
  let url = "";
  // The port is free when chosen and may be taken before Prometheus binds it: try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    log = "";
    const started = spawn(
      "prometheus",
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=info",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const ready = new Promise<true>((resolve) => {
      started.stderr!.on("data", (d) => {
        log += d;
        if (log.includes(READY)) resolve(true);
      });
    });
    const exited = new Promise<NodeJS.ErrnoException | number | null>((resolve) => {
      started.once("error", resolve);
      started.once("exit", resolve);
    });
    const timedOut = new Promise<false>((resolve) => setTimeout(() => resolve(false), 30_000).unref());
    const outcome = await Promise.race([ready, timedOut, exited.then((e) => ({ exited: e }))]);
    if (outcome === true) {
      child = started;
      break;
    }
    started.kill("SIGKILL");
    if (typeof outcome === "object" && outcome.exited instanceof Error && outcome.exited.code === "ENOENT") {
      throw new Error(
        "prometheus is not installed: install Debian's prometheus package (scripts/setup-debian.sh)",
      );
    }
    if (attempt === 3 || !/address already in use/.test(log)) {
      throw new Error(`prometheus did not become ready: ${log}`);
    }
  }

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };

  /** When each rule group was last evaluated. */
  const evaluations = async () =>
    (await api<{ groups: { lastEvaluation: string }[] }>("/api/v1/rules")).groups.map(
      (g) => g.lastEvaluation,
    );

  return {
    url,
    /** Resolves once every rule group has been evaluated again since the call. */
    nextEvaluation: async () => {
      const before = await evaluations();
      await vi.waitFor(
        async () => {
          const now = await evaluations();
          if (now.some((at, i) => at === before[i])) throw new Error("the rules were not evaluated again");
        },
        { timeout: 10_000, interval: 50 },
      );
    },
    /** An instant query, now. */
    query: (expr: string) =>
      api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      ),
    labelValues: (label: string, match: string) =>
      api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(match)}`),
    alerts: async () => (await api<{ alerts: PrometheusAlert[] }>("/api/v1/alerts")).alerts,
    targets: async () =>
      (
        await api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>(
          "/api/v1/targets",
        )
      ).activeTargets,
    log: () => log,
    stop: async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child!.once("exit", r));
        child.kill("SIGTERM");
        await gone;
      }
    },
  };
};

export type Prometheus = Awaited<ReturnType<typeof startPrometheus>>;
