import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { CredbridgeError, isCredbridgeError } from "./errors.js";
import { type BackoffOptions, backoffDelay } from "./internal/backoff.js";
import { type Schedule, scheduleFor } from "./internal/schedule.js";
import { maskAccessKeyId } from "./redact.js";
import { type Runtime, type RuntimeOptions, resolveRuntime } from "./runtime.js";

/** Why a refresh started. */
export type RefreshReason = "initial" | "expired" | "advisory" | "mandatory" | "scheduled" | "forced";

/** What the engine reports to its observers: for metrics, logs and writers. */
export type RefreshEvent =
  | { type: "refresh-start"; source: string; reason: RefreshReason; at: Date }
  | {
      type: "refresh-success";
      source: string;
      reason: RefreshReason;
      at: Date;
      /** The new credentials: for writers and servers. Never log them. */
      credentials: AwsCredentialIdentity;
      expiration: Date | undefined;
      durationMs: number;
    }
  | {
      type: "refresh-failure";
      source: string;
      reason: RefreshReason;
      at: Date;
      error: Error;
      consecutiveFailures: number;
      /** The earliest moment the engine will call the source again. */
      retryAt: Date;
      /** Whether still-valid cached credentials keep being served. */
      servingCached: boolean;
    };

export type RefreshListener = (event: RefreshEvent) => void;

/** Where the cached credentials stand, relative to their windows. */
export type RefreshStatus = "empty" | "fresh" | "advisory" | "mandatory" | "expired";

/** A snapshot for health checks. Holds no secret. */
export interface RefreshState {
  source: string;
  status: RefreshStatus;
  /** Expiration of the cached credentials; undefined when none or they never expire. */
  expiration: Date | undefined;
  /** Last four characters of the cached access key id, masked. */
  accessKeyId: string | undefined;
  lastSuccessAt: Date | undefined;
  lastAttemptAt: Date | undefined;
  lastError: { message: string; code: string | undefined; at: Date } | undefined;
  consecutiveFailures: number;
  /** When the engine next means to call its source, if it knows. */
  nextRefreshAt: Date | undefined;
  refreshing: boolean;
  refreshes: number;
  failures: number;
}

export interface RefreshingOptions {
  /** Seconds before expiry from which refreshes run in the background. Default 900 (15 min, as botocore). */
  advisoryWindowSeconds?: number | undefined;
  /** Seconds before expiry from which callers wait for a refresh. Default 600 (10 min, as botocore). */
  mandatoryWindowSeconds?: number | undefined;
  /**
   * Credentials with less than this left are never served; servers that must
   * hand out credentials with a margin (IMDS) raise it. Default 0.
   */
  minRemainingSeconds?: number | undefined;
  /** Up to this many seconds of random delay on the background refresh moment. Default 60. */
  jitterSeconds?: number | undefined;
  /** Backoff between failed refreshes. Default 1 s doubling to 5 min, with jitter. */
  retry?: BackoffOptions | undefined;
  /** A name for the source in state, events and logs. Default "credentials". */
  source?: string | undefined;
  /** Called with every event; the same as `subscribe`. */
  observer?: RefreshListener | undefined;
  runtime?: RuntimeOptions | undefined;
}

/** A credential provider backed by the refresh engine. */
export interface RefreshingProvider extends AwsCredentialIdentityProvider {
  /** Fetches new credentials now (single-flight with any refresh already running). */
  refresh(): Promise<AwsCredentialIdentity>;
  /** Refreshes on a timer before expiry even when nobody asks: for sidecars and writers. */
  start(): void;
  /** Cancels the timer started by `start`. An in-flight refresh still completes. */
  stop(): void;
  state(): RefreshState;
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: RefreshListener): () => void;
  readonly [REFRESHING]: true;
}

const REFRESHING = Symbol.for("credbridge.refreshing");

export const isRefreshingProvider = (value: unknown): value is RefreshingProvider =>
  typeof value === "function" && (value as unknown as Record<symbol, unknown>)[REFRESHING] === true;

interface Cached {
  credentials: AwsCredentialIdentity;
  /** Undefined for credentials without expiration: cached for good. */
  schedule: Schedule | undefined;
}

const secondsOption = (name: string, value: number | undefined, fallback: number): number => {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) {
    throw new CredbridgeError(`refreshing: ${name} must be a non-negative number of seconds, got ${value}`, {
      code: "ERR_CONFIG",
    });
  }
  return v * 1000;
};

/**
 * Wraps any provider in the one refresh engine every credbridge output shares.
 *
 * - Cached credentials are returned until the advisory window; inside it one
 *   background refresh runs while callers keep the cached credentials; inside
 *   the mandatory window callers wait for the refresh.
 * - Any number of concurrent callers share one upstream call.
 * - A failed refresh keeps serving still-valid credentials and retries with
 *   backoff; expired credentials are never returned.
 */
export const refreshing = (
  source: AwsCredentialIdentityProvider,
  options: RefreshingOptions = {},
): RefreshingProvider => {
  const rt: Runtime = resolveRuntime(options.runtime);
  const name = options.source ?? "credentials";
  const listeners = new Set<RefreshListener>();
  if (options.observer) listeners.add(options.observer);

  let cached: Cached | undefined;
  let inflight: Promise<AwsCredentialIdentity> | undefined;
  let nextAttemptAt = 0;
  let consecutiveFailures = 0;
  let refreshes = 0;
  let failures = 0;
  let lastSuccessAt: number | undefined;
  let lastAttemptAt: number | undefined;
  let lastError: RefreshState["lastError"];
  let timer: { cancel(): void } | undefined;
  let started = false;

  const emit = (event: RefreshEvent): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        rt.logger?.warn(`credbridge: a refresh listener of ${name} threw: ${(error as Error)?.message}`);
      }
    }
  };

  const windows = () => {
    const advisoryMs = secondsOption("advisoryWindowSeconds", options.advisoryWindowSeconds, 900);
    const mandatoryMs = secondsOption("mandatoryWindowSeconds", options.mandatoryWindowSeconds, 600);
    const minRemainingMs = secondsOption("minRemainingSeconds", options.minRemainingSeconds, 0);
    const jitterMs = secondsOption("jitterSeconds", options.jitterSeconds, 60);
    if (mandatoryMs > advisoryMs) {
      throw new CredbridgeError(
        `refreshing: mandatoryWindowSeconds (${mandatoryMs / 1000}) must not exceed advisoryWindowSeconds (${advisoryMs / 1000})`,
        { code: "ERR_CONFIG" },
      );
    }
    if (minRemainingMs > mandatoryMs) {
      throw new CredbridgeError(
        `refreshing: minRemainingSeconds (${minRemainingMs / 1000}) must not exceed mandatoryWindowSeconds (${mandatoryMs / 1000}), or callers would be refused credentials before they ever waited for new ones`,
        { code: "ERR_CONFIG" },
      );
    }
    return { advisoryMs, mandatoryMs, minRemainingMs, jitterMs };
  };

  const usable = (now: number): Cached | undefined =>
    cached && (cached.schedule === undefined || now < cached.schedule.usableUntil) ? cached : undefined;

  const accept = (credentials: AwsCredentialIdentity, now: number): Cached => {
    if (!credentials?.accessKeyId || !credentials.secretAccessKey) {
      throw new CredbridgeError(
        `${name}: the source returned credentials without an access key id or secret`,
        {
          code: "ERR_INVALID_RESPONSE",
        },
      );
    }
    const expiration = credentials.expiration;
    if (expiration === undefined) return { credentials, schedule: undefined };
    const expiresAt = expiration.getTime();
    const w = windows();
    if (!Number.isFinite(expiresAt) || expiresAt - w.minRemainingMs <= now) {
      throw new CredbridgeError(
        `${name}: the source returned credentials expiring at ${Number.isFinite(expiresAt) ? expiration.toISOString() : "an invalid date"}, ` +
          `which leaves less than the required ${w.minRemainingMs / 1000} s; check the source's clock and session duration`,
        { code: "ERR_EXPIRED" },
      );
    }
    return { credentials, schedule: scheduleFor(now, expiresAt, rt.random(), w) };
  };

  const schedule = (): void => {
    timer?.cancel();
    timer = undefined;
    if (!started) return;
    const now = rt.now();
    const at = consecutiveFailures > 0 ? nextAttemptAt : cached?.schedule?.refreshAt;
    if (at === undefined) return;
    timer = rt.setTimer(() => {
      timer = undefined;
      runRefresh("scheduled").catch(() => {
        // Reported through events and the logger; the timer re-arms itself.
      });
    }, at - now);
  };

  const runRefresh = (reason: RefreshReason): Promise<AwsCredentialIdentity> => {
    if (inflight) return inflight;
    const startedAt = rt.now();
    lastAttemptAt = startedAt;
    emit({ type: "refresh-start", source: name, reason, at: new Date(startedAt) });
    const attempt = (async () => {
      try {
        const next = accept(await source(), rt.now());
        const now = rt.now();
        cached = next;
        consecutiveFailures = 0;
        nextAttemptAt = 0;
        lastSuccessAt = now;
        refreshes++;
        rt.logger?.debug?.(
          `credbridge: ${name} refreshed (${reason}), key ${maskAccessKeyId(next.credentials.accessKeyId)}, expires ${next.credentials.expiration?.toISOString() ?? "never"}`,
        );
        emit({
          type: "refresh-success",
          source: name,
          reason,
          at: new Date(now),
          credentials: next.credentials,
          expiration: next.credentials.expiration,
          durationMs: now - startedAt,
        });
        return next.credentials;
      } catch (cause) {
        const now = rt.now();
        const error = cause instanceof Error ? cause : new Error(String(cause));
        consecutiveFailures++;
        failures++;
        nextAttemptAt = now + backoffDelay(consecutiveFailures, rt.random, options.retry);
        lastError = {
          message: error.message,
          code: isCredbridgeError(error) ? error.code : (error as { name?: string }).name,
          at: new Date(now),
        };
        const still = usable(now);
        const retryIn = Math.round((nextAttemptAt - now) / 1000);
        const log = `credbridge: refresh of ${name} failed (${reason}, ${consecutiveFailures} in a row): ${error.message}; ${
          still
            ? `serving cached credentials valid until ${new Date(still.schedule?.usableUntil ?? 0).toISOString()}`
            : "no valid credentials to serve"
        }; retrying in ${retryIn} s`;
        if (still) rt.logger?.warn(log);
        else rt.logger?.error(log);
        emit({
          type: "refresh-failure",
          source: name,
          reason,
          at: new Date(now),
          error,
          consecutiveFailures,
          retryAt: new Date(nextAttemptAt),
          servingCached: still !== undefined,
        });
        throw error;
      } finally {
        inflight = undefined;
        schedule();
      }
    })();
    inflight = attempt;
    return attempt;
  };

  /** The error a caller gets when nothing valid is cached and no refresh may run yet. */
  const unavailable = (): CredbridgeError =>
    new CredbridgeError(
      `${name}: no valid credentials; the last refresh failed (${lastError?.message ?? "unknown error"}) and the next attempt is at ${new Date(nextAttemptAt).toISOString()}`,
      { code: "ERR_EXPIRED" },
    );

  const provider = (async (identityProperties?: { forceRefresh?: boolean }) => {
    if (identityProperties?.forceRefresh) return runRefresh("forced");
    const now = rt.now();
    const valid = usable(now);
    if (!valid) {
      if (inflight) return inflight;
      if (now < nextAttemptAt) throw unavailable();
      return runRefresh(cached ? "expired" : "initial");
    }
    const s = valid.schedule;
    if (s === undefined || now < s.refreshAt) return valid.credentials;
    if (now >= s.mandatoryAt) {
      if (!inflight && now < nextAttemptAt) return valid.credentials;
      try {
        return await runRefresh("mandatory");
      } catch (error) {
        // Stale-if-error: still-valid credentials outlive a failed refresh.
        if (usable(rt.now())) return valid.credentials;
        throw error;
      }
    }
    if (!inflight && now >= nextAttemptAt) runRefresh("advisory").catch(() => {});
    return valid.credentials;
  }) as RefreshingProvider;

  const status = (now: number): RefreshStatus => {
    if (!cached) return "empty";
    const s = cached.schedule;
    if (!s) return "fresh";
    if (now >= s.usableUntil) return "expired";
    if (now >= s.mandatoryAt) return "mandatory";
    return now >= s.refreshAt ? "advisory" : "fresh";
  };

  const toDate = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

  Object.defineProperties(provider, {
    [REFRESHING]: { value: true },
    refresh: { value: () => runRefresh("forced") },
    start: {
      value: () => {
        if (started) return;
        started = true;
        if (!cached && !inflight) {
          runRefresh("initial").catch(() => {});
          return;
        }
        schedule();
      },
    },
    stop: {
      value: () => {
        started = false;
        timer?.cancel();
        timer = undefined;
      },
    },
    subscribe: {
      value: (listener: RefreshListener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    state: {
      value: (): RefreshState => {
        const now = rt.now();
        return {
          source: name,
          status: status(now),
          expiration: cached?.credentials.expiration,
          accessKeyId: cached ? maskAccessKeyId(cached.credentials.accessKeyId) : undefined,
          lastSuccessAt: toDate(lastSuccessAt),
          lastAttemptAt: toDate(lastAttemptAt),
          lastError,
          consecutiveFailures,
          nextRefreshAt: toDate(consecutiveFailures > 0 ? nextAttemptAt : cached?.schedule?.refreshAt),
          refreshing: inflight !== undefined,
          refreshes,
          failures,
        };
      },
    },
  });
  return provider;
};
