import type { RefreshEvent, RefreshingProvider } from "@credbridge/core";
import type { RequestInfo } from "@credbridge/http";
import type { RefresherEvent, RefresherHandle } from "@credbridge/writer";
import { buildInfo } from "../metrics/build-info.js";
import { createEngineMetrics, type EngineMetricsSettings } from "../metrics/engine-metrics.js";
import { createExposition } from "../metrics/exposition.js";
import { createRequestCounter } from "../metrics/request-counter.js";
import { engineLiveness, fileReadiness, type ProbeResult, tokenFileReadiness } from "./probes.js";

/**
 * `serve`'s metrics for Prometheus, fed by the engine, the refresher and the
 * servers, with the probes' answers. Holds no secret. The names are listed,
 * with what each alert makes of them, in the README's "Monitoring".
 */
export const createMetrics = (
  engine: RefreshingProvider,
  settings: EngineMetricsSettings & { now?: () => number },
) => {
  const now = settings.now ?? Date.now;
  let fileWrites = 0;
  let fileWriteFailures = 0;
  const refreshes = createEngineMetrics(engine, settings);
  const requests = createRequestCounter();
  const build = buildInfo("serve");
  let refresher: RefresherHandle | undefined;
  let tokenFile: { path: string; owners: number[] } | undefined;

  const metrics = {
    onRefresh: (e: RefreshEvent) => refreshes.onRefresh(e),
    onWrite: (e: RefresherEvent) => {
      if (e.type === "write-success") fileWrites++;
      else if (e.type === "write-failure") fileWriteFailures++;
    },
    onRequest: (r: RequestInfo) => requests.onRequest(r),
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
      const out = createExposition();
      build(out);
      out.add(
        "credbridge_ready",
        "gauge",
        "Whether /readyz answers 200: every output can serve.",
        "",
        metrics.ready().ok ? 1 : 0,
      );
      refreshes.collect(out);
      if (refresher) {
        out.add(
          "credbridge_file_writes_total",
          "counter",
          "Successful credentials-file writes.",
          "",
          fileWrites,
        );
        out.add(
          "credbridge_file_write_failures_total",
          "counter",
          "Failed credentials-file writes.",
          "",
          fileWriteFailures,
        );
      }
      requests.collect(out);
      return out.render();
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
  return metrics;
};

export type Metrics = ReturnType<typeof createMetrics>;
