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
  settings: EngineMetricsSettings & {
    now?: () => number;
    /**
     * The default profile's name, with named profiles: every engine's series
     * then carry a `profile` label, and readiness names the profile failing.
     */
    profile?: string | undefined;
  },
) => {
  const now = settings.now ?? Date.now;
  let fileWrites = 0;
  let fileWriteFailures = 0;
  const refreshes = createEngineMetrics(
    engine,
    settings,
    settings.profile === undefined ? {} : { profile: settings.profile },
  );
  /** Every profile's engine and series, the default first. */
  const profiles: {
    name: string | undefined;
    engine: RefreshingProvider;
    series: ReturnType<typeof createEngineMetrics>;
  }[] = [{ name: settings.profile, engine, series: refreshes }];
  const requests = createRequestCounter();
  const build = buildInfo("serve");
  let refresher: RefresherHandle | undefined;
  let tokenFile: { path: string; owners: number[] } | undefined;

  const metrics = {
    onRefresh: (e: RefreshEvent) => refreshes.onRefresh(e),
    /** A named profile's engine; returns the listener its refresh events go to. */
    addProfile: (name: string, profileEngine: RefreshingProvider): ((e: RefreshEvent) => void) => {
      const series = createEngineMetrics(profileEngine, settings, { profile: name });
      profiles.push({ name, engine: profileEngine, series });
      return (e) => series.onRefresh(e);
    },
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
      for (const p of profiles) p.series.collect(out);
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
    live: (): ProbeResult => {
      for (const p of profiles) {
        const live = engineLiveness(p.engine.state());
        if (!live.ok)
          return p.name === undefined ? live : { ok: false, reason: `profile ${p.name}: ${live.reason}` };
      }
      return { ok: true, reason: "ok" };
    },
    /**
     * Ready: every output can serve — credentials valid and outside the
     * mandatory window, the file (if any) written and holding credentials
     * outside the margin, the container token (if any) trusted, readable and valid.
     */
    ready: (): ProbeResult => {
      // Every profile servable, or the first that is not, named.
      for (const p of profiles) {
        const state = p.engine.state();
        if (state.status !== "fresh" && state.status !== "advisory") {
          return {
            ok: false,
            reason: `${p.name === undefined ? "" : `profile ${p.name}: `}credentials ${state.status}${state.lastError?.current ? `: ${state.lastError.message}` : ""}`,
          };
        }
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
