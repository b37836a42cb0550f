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
  refreshes: "Successful refreshes from the upstream.",
  failures: "Failed refreshes, by class: an STS error code, timeout, network, or a credbridge ERR_* code.",
  duration:
    "Time each refresh took from the upstream (every call of the chain), by result; a refresh given up at the timeout counts the timeout.",
  consecutive: "Failed refreshes since the last success.",
  failingSince:
    "When the current run of failed refreshes began (Unix time); absent while the last refresh succeeded.",
  lastError:
    "The class of the latest failed refresh, while no refresh has succeeded since; absent otherwise.",
  lastSuccess: "When the last refresh succeeded (Unix time); absent before the first.",
} as const;

/**
 * The refresh engine's metrics, fed by its events and read from its state at
 * each scrape. Every series carries `labels` (none for `serve`'s one engine
 * today; a `profile` label when one process runs several engines), so rules
 * that match series one to one keep working when that label is added.
 */
export const createEngineMetrics = (
  engine: { state(): RefreshState },
  settings: { minRemainingSeconds: number },
  labels: Readonly<Record<string, string>> = {},
) => {
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
        failingSince ??= e.at.getTime();
        lastClass = c;
      }
    },
    collect(out: Exposition): void {
      const state = engine.state();
      const { expiration } = state;
      out.declare("credbridge_credentials_expiration_timestamp_seconds", "gauge", H.expiration);
      if (expiration !== undefined) {
        out.add(
          "credbridge_credentials_expiration_timestamp_seconds",
          "gauge",
          H.expiration,
          base,
          expiration.getTime() / 1000,
        );
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
      out.declare("credbridge_refresh_failing_since_timestamp_seconds", "gauge", H.failingSince);
      out.declare("credbridge_refresh_last_error_info", "gauge", H.lastError);
      if (failingSince !== undefined && lastClass !== undefined) {
        out.add(
          "credbridge_refresh_failing_since_timestamp_seconds",
          "gauge",
          H.failingSince,
          base,
          failingSince / 1000,
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
