import {
  ERROR_CLASSES,
  type ErrorClass,
  errorClass,
  type RefreshEvent,
  type RefreshState,
} from "@credbridge/core";
import { type Exposition, joinPairs, labelPairs } from "./exposition.js";
import { createHistogram } from "./histogram.js";

/**
 * Upper bounds of the refresh latency histogram, in seconds: STS answers in
 * tens of milliseconds from a VPC, a chain of hops takes a few calls, and a
 * hung upstream ends at the refresh timeout (60 s by default).
 */
const REFRESH_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

const H = {
  expiration:
    "When the cached credentials expire (Unix time); absent while none are cached or they never expire.",
  minRemaining:
    "Credentials with less than this many seconds left are never served or written (--min-remaining).",
  timeout: "How long one refresh may take before it counts as failed (--refresh-timeout).",
  mandatoryWindow:
    "Seconds before expiry from which the credentials held are in the mandatory window, where the sidecar is not ready and callers wait for a refresh (--min-remaining + 60, less for sessions too short for it); absent while none are held or they never expire.",
  refreshes: "Successful refreshes from the upstream.",
  failures: "Failed refreshes, by class: an STS error code, timeout, network, or a credbridge ERR_* code.",
  duration:
    "Time each refresh took from the upstream (every call of the chain), by result; a refresh given up at the timeout counts the timeout.",
  consecutive: "Failed refreshes since the last success.",
  failing:
    "How long refreshes have failed: from the first failure of the current run, on this process's monotonic clock (a clock step does not move it); absent while the last refresh succeeded.",
  lastError:
    "The class of the latest failed refresh, while no refresh has succeeded since; absent otherwise.",
  lastSuccess: "When the last refresh succeeded (Unix time); absent before the first.",
} as const;

export interface EngineMetricsSettings {
  minRemainingSeconds: number;
  /**
   * The clock the failing run is measured on: monotonic, so the duration
   * exported is the sidecar's own measure, whatever its wall clock says
   * against Prometheus's. Default `performance.now`.
   */
  monotonicNow?: (() => number) | undefined;
}

/**
 * The refresh engine's metrics, fed by its events and read from its state at
 * each scrape. Every series carries `labels` (none for `serve`'s one engine
 * today; a `profile` label when one process runs several engines), so rules
 * that match series one to one keep working when that label is added.
 *
 * The only moment rules compare with Prometheus's `time()` is the
 * expiration, which AWS sets: the credentials stop working then whatever the
 * sidecar's clock says, so Prometheus's clock is the right one to measure it
 * by. What the sidecar times itself (how long refreshes have failed) it
 * exports as a length measured on its monotonic clock, never as a moment on
 * its wall clock, which may be minutes off Prometheus's; the last success's
 * moment is for people to read.
 */
export const createEngineMetrics = (
  engine: { state(): RefreshState },
  settings: EngineMetricsSettings,
  labels: Readonly<Record<string, string>> = {},
) => {
  const monotonicNow = settings.monotonicNow ?? (() => performance.now());
  const base = labelPairs(labels);
  const failures = new Map<ErrorClass, number>(ERROR_CLASSES.map((c) => [c, 0]));
  const classPairs = new Map<ErrorClass, string>(
    ERROR_CLASSES.map((c) => [c, joinPairs(base, labelPairs({ class: c }))]),
  );
  const durations = {
    success: createHistogram(REFRESH_BUCKETS),
    failure: createHistogram(REFRESH_BUCKETS),
  };
  const resultPairs = {
    success: joinPairs(base, 'result="success"'),
    failure: joinPairs(base, 'result="failure"'),
  };
  let refreshes = 0;
  /** The first failure of the current run, on the monotonic clock. */
  let failingSince: number | undefined;
  let lastClass: ErrorClass | undefined;

  return {
    onRefresh(e: RefreshEvent): void {
      if (e.type === "refresh-success") {
        refreshes++;
        durations.success.observe(e.durationMs / 1000);
        failingSince = undefined;
        lastClass = undefined;
      } else if (e.type === "refresh-failure") {
        const c = errorClass(e.error);
        failures.set(c, (failures.get(c) ?? 0) + 1);
        durations.failure.observe(e.durationMs / 1000);
        // The run began with its first failure; later ones keep that moment.
        failingSince ??= monotonicNow();
        lastClass = c;
      }
    },
    collect(out: Exposition): void {
      const state = engine.state();
      const { expiration, mandatoryAt } = state;
      out.declare("credbridge_credentials_expiration_timestamp_seconds", "gauge", H.expiration);
      out.declare("credbridge_mandatory_window_seconds", "gauge", H.mandatoryWindow);
      if (expiration !== undefined) {
        out.add(
          "credbridge_credentials_expiration_timestamp_seconds",
          "gauge",
          H.expiration,
          base,
          expiration.getTime() / 1000,
        );
        // A length before the expiration, not a moment: compared with the time left, it
        // means the same on any clock.
        if (mandatoryAt !== undefined) {
          out.add(
            "credbridge_mandatory_window_seconds",
            "gauge",
            H.mandatoryWindow,
            base,
            (expiration.getTime() - mandatoryAt.getTime()) / 1000,
          );
        }
      }
      out.add(
        "credbridge_min_remaining_seconds",
        "gauge",
        H.minRemaining,
        base,
        settings.minRemainingSeconds,
      );
      out.add("credbridge_refresh_timeout_seconds", "gauge", H.timeout, base, state.attemptTimeoutMs / 1000);
      out.add("credbridge_refreshes_total", "counter", H.refreshes, base, refreshes);
      for (const [c, n] of failures) {
        out.add("credbridge_refresh_failures_total", "counter", H.failures, classPairs.get(c)!, n);
      }
      out.histogram(
        "credbridge_refresh_duration_seconds",
        H.duration,
        resultPairs.success,
        durations.success.snapshot(),
      );
      out.histogram(
        "credbridge_refresh_duration_seconds",
        H.duration,
        resultPairs.failure,
        durations.failure.snapshot(),
      );
      out.add(
        "credbridge_refresh_consecutive_failures",
        "gauge",
        H.consecutive,
        base,
        state.consecutiveFailures,
      );
      out.declare("credbridge_refresh_failing_seconds", "gauge", H.failing);
      out.declare("credbridge_refresh_last_error_info", "gauge", H.lastError);
      if (failingSince !== undefined && lastClass !== undefined) {
        out.add(
          "credbridge_refresh_failing_seconds",
          "gauge",
          H.failing,
          base,
          (monotonicNow() - failingSince) / 1000,
        );
        out.add("credbridge_refresh_last_error_info", "gauge", H.lastError, classPairs.get(lastClass)!, 1);
      }
      out.declare("credbridge_refresh_last_success_timestamp_seconds", "gauge", H.lastSuccess);
      if (state.lastSuccessAt !== undefined) {
        out.add(
          "credbridge_refresh_last_success_timestamp_seconds",
          "gauge",
          H.lastSuccess,
          base,
          state.lastSuccessAt.getTime() / 1000,
        );
      }
    },
  };
};

export type EngineMetrics = ReturnType<typeof createEngineMetrics>;
