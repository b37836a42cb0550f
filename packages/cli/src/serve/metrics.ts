import type { RefreshEvent, RefreshingProvider } from "@credbridge/core";
import type { RequestInfo } from "@credbridge/imds-shim";
import type { RefresherEvent, RefresherHandle } from "@credbridge/writer";
import { engineLiveness, fileReadiness, type ProbeResult, tokenFileReadiness } from "./probes.js";

/** Counters for Prometheus, fed by the engine, the refresher and both servers. Holds no secret. */
export const createMetrics = (engine: RefreshingProvider, now: () => number) => {
  let refreshes = 0;
  let refreshFailures = 0;
  let fileWrites = 0;
  let fileWriteFailures = 0;
  // Keyed by the raw label values; each counter keeps its escaped label set,
  // built once, so a request costs one lookup (render order: first seen).
  const requests = new Map<string, { labels: string; n: number }>();
  // Each server's last route and status, with its counter: a server answers the
  // same request over and over, and building the key cost ~0.8 µs a request.
  const lastOf = new Map<string, { path: string; status: number; counter: { labels: string; n: number } }>();
  let refresher: RefresherHandle | undefined;
  let tokenFile: { path: string; owners: number[] } | undefined;

  const label = (v: string) => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");

  return {
    onRefresh: (e: RefreshEvent) => {
      if (e.type === "refresh-success") refreshes++;
      else if (e.type === "refresh-failure") refreshFailures++;
    },
    onWrite: (e: RefresherEvent) => {
      if (e.type === "write-success") fileWrites++;
      else if (e.type === "write-failure") fileWriteFailures++;
    },
    onRequest: (r: RequestInfo) => {
      const seen = lastOf.get(r.server);
      if (seen !== undefined && seen.status === r.status && seen.path === r.path) {
        seen.counter.n++;
        return;
      }
      const key = `${r.server}\n${r.path}\n${r.status}`;
      let counter = requests.get(key);
      if (counter) counter.n++;
      else {
        counter = { labels: `server="${r.server}",path="${label(r.path)}",status="${r.status}"`, n: 1 };
        requests.set(key, counter);
      }
      lastOf.set(r.server, { path: r.path, status: r.status, counter });
    },
    watchRefresher: (handle: RefresherHandle) => {
      refresher = handle;
    },
    /**
     * The container endpoint's token file, and who may own it besides root and
     * this user: readiness needs it trusted, readable and valid, or every
     * request gets a 500.
     */
    watchTokenFile: (path: string, owners: number[] = []) => {
      tokenFile = { path, owners };
    },
    /** The Prometheus text exposition format. */
    render: (): string => {
      const state = engine.state();
      const expiry = state.expiration ? (state.expiration.getTime() - now()) / 1000 : Number.NaN;
      const lines = [
        "# HELP credbridge_credentials_expiry_seconds Seconds until the cached credentials expire.",
        "# TYPE credbridge_credentials_expiry_seconds gauge",
        `credbridge_credentials_expiry_seconds ${Number.isFinite(expiry) ? expiry.toFixed(0) : "NaN"}`,
        "# HELP credbridge_credentials_ready Whether valid credentials outside the mandatory window are cached.",
        "# TYPE credbridge_credentials_ready gauge",
        `credbridge_credentials_ready ${state.status === "fresh" || state.status === "advisory" ? 1 : 0}`,
        "# HELP credbridge_refreshes_total Successful refreshes from the source.",
        "# TYPE credbridge_refreshes_total counter",
        `credbridge_refreshes_total ${refreshes}`,
        "# HELP credbridge_refresh_failures_total Failed refreshes from the source.",
        "# TYPE credbridge_refresh_failures_total counter",
        `credbridge_refresh_failures_total ${refreshFailures}`,
      ];
      if (refresher) {
        lines.push(
          "# HELP credbridge_file_writes_total Successful credentials-file writes.",
          "# TYPE credbridge_file_writes_total counter",
          `credbridge_file_writes_total ${fileWrites}`,
          "# HELP credbridge_file_write_failures_total Failed credentials-file writes.",
          "# TYPE credbridge_file_write_failures_total counter",
          `credbridge_file_write_failures_total ${fileWriteFailures}`,
        );
      }
      lines.push(
        "# HELP credbridge_requests_total Requests served, by server, route and status.",
        "# TYPE credbridge_requests_total counter",
        ...[...requests.values()].map(({ labels, n }) => `credbridge_requests_total{${labels}} ${n}`),
      );
      return `${lines.join("\n")}\n`;
    },
    /** Live: the refresh engine can still make progress by itself (see `engineLiveness`). */
    live: (): ProbeResult => engineLiveness(engine.state()),
    /**
     * Ready: every output can serve — credentials valid and outside the
     * mandatory window, the file (if any) written and holding credentials
     * outside the margin, the container token (if any) trusted, readable and valid.
     */
    ready: (): ProbeResult => {
      const state = engine.state();
      if (state.status !== "fresh" && state.status !== "advisory") {
        return {
          ok: false,
          reason: `credentials ${state.status}${state.lastError?.current ? `: ${state.lastError.message}` : ""}`,
        };
      }
      if (refresher) {
        const file = fileReadiness(refresher.status(), now());
        if (!file.ok) return file;
      }
      if (tokenFile !== undefined) {
        const token = tokenFileReadiness(tokenFile.path, tokenFile.owners);
        if (!token.ok) return token;
      }
      return { ok: true, reason: "ok" };
    },
  };
};

export type Metrics = ReturnType<typeof createMetrics>;
