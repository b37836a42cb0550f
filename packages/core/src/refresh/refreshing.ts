import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { CredbridgeError } from "../errors.js";
import { backoffDelay } from "../internal/backoff.js";
import { resolveRuntime } from "../runtime.js";
import { setWallClockTimer } from "../wall-clock-timer.js";
import { boundedCalls } from "./bounded-call.js";
import { type Decision, decide, type RefreshReason } from "./decision.js";
import { createLedger, mayCallAtWall, recordFailure, recordSuccess, snapshot } from "./ledger.js";
import { createListeners } from "./listeners.js";
import { createReporter } from "./report.js";
import { REFRESHING, type RefreshEvent, type RefreshingOptions, type RefreshingProvider } from "./types.js";
import { watchedTimers } from "./watched-timers.js";
import {
  acceptCredentials,
  type Cached,
  DEFAULT_ATTEMPT_TIMEOUT_SECONDS,
  isUsable,
  refreshFloorMs,
  windowsOf,
  windowsOnce,
} from "./windows.js";

export type { RefreshReason, RefreshStatus } from "./decision.js";
export type {
  RefreshEvent,
  RefreshingOptions,
  RefreshingProvider,
  RefreshListener,
  RefreshState,
} from "./types.js";
export { isRefreshingProvider } from "./types.js";

const asError = (cause: unknown): Error => (cause instanceof Error ? cause : new Error(String(cause)));
const ignore = () => {};

/**
 * Wraps any provider in the one refresh engine every credbridge output shares.
 * The policy (return cached, refresh in the background, wait, refuse) is the
 * pure `decide`; this shell runs it: one upstream call at a time, each bounded
 * by a deadline, events, backoff, and the wall-clock timer of `start()`.
 */
export const refreshing = (
  source: AwsCredentialIdentityProvider,
  options: RefreshingOptions = {},
): RefreshingProvider => {
  const rt = resolveRuntime(options.runtime);
  const name = options.name ?? "credentials";
  const listeners = createListeners<RefreshEvent>((error) =>
    rt.logger?.warn(`credbridge: a refresh listener of ${name} threw: ${asError(error).message}`),
  );
  if (options.observer) listeners.add(options.observer);
  const report = createReporter(name, listeners.emit, rt.logger);
  const ledger = createLedger();
  const config = windowsOnce(options);
  let cached: Cached | undefined;
  let inflight: Promise<AwsCredentialIdentity> | undefined;
  /** When the attempt in flight started, on the monotonic clock. */
  let inflightSince = 0;
  const calls = boundedCalls(rt, name);
  const watched = watchedTimers(rt);
  let timer: { cancel(): void } | undefined;
  let started = false;

  const cancelTimer = (): void => {
    timer?.cancel();
    timer = undefined;
    watched.cleared();
  };

  // A refresh moment is an expiration's, on the wall clock: a wall-clock timer
  // fires after a suspend or a clock step too, where one long setTimeout would
  // not. A backoff (or the floor) is a length of time, on the monotonic clock:
  // a wall clock stepped back must not hold the next attempt back by the step.
  const schedule = (): void => {
    cancelTimer();
    if (!started) return;
    const fire = () => {
      cancelTimer();
      run("scheduled").catch(ignore);
    };
    if (ledger.consecutiveFailures > 0) {
      // Whichever clock ends the backoff first: see ledger.ts.
      const monotonic = rt.setTimer(fire, Math.max(0, ledger.mayCallAt - rt.monotonicNow()), { unref: true });
      const wall = setWallClockTimer(watched.timers, ledger.mayCallAtWall, fire);
      timer = {
        cancel: () => {
          monotonic.cancel();
          wall.cancel();
        },
      };
      return;
    }
    const at = cached?.schedule?.refreshAt;
    if (at === undefined) return;
    timer = setWallClockTimer(
      watched.timers,
      Math.max(at, mayCallAtWall(ledger, rt.now(), rt.monotonicNow())),
      fire,
    );
  };

  const succeeded =
    (reason: RefreshReason, startedAt: number) =>
    (next: Cached): AwsCredentialIdentity => {
      const now = rt.now();
      cached = next;
      const expiresAt = next.credentials.expiration?.getTime();
      const floorMs = refreshFloorMs(now, expiresAt);
      recordSuccess(ledger, now, rt.monotonicNow(), floorMs);
      report.succeeded(reason, next.credentials, startedAt, now);
      const usableMs = next.schedule ? next.schedule.usableUntil - now : Number.POSITIVE_INFINITY;
      if (usableMs < floorMs) {
        rt.logger?.warn(
          `credbridge: ${name}: these credentials may be served for ${Math.round(usableMs / 1000)} s only (their lifetime less the required remaining life), less than the ${Math.round(floorMs / 1000)} s the engine leaves between refreshes: nothing is served until the next refresh. Ask the source for longer sessions, or lower the required remaining life (--min-remaining).`,
        );
      }
      return next.credentials;
    };

  const failed =
    (reason: RefreshReason, startedAt: number) =>
    (cause: unknown): never => {
      const now = rt.now();
      // Read once: the retry moment reported is exactly the backoff recorded.
      const monotonic = rt.monotonicNow();
      const error = asError(cause);
      const retryIn = backoffDelay(ledger.consecutiveFailures + 1, rt.random, options.retry);
      recordFailure(ledger, now, monotonic, error, retryIn);
      report.failed(
        reason,
        error,
        ledger,
        isUsable(cached, now) ? cached : undefined,
        startedAt,
        now,
        monotonic,
      );
      throw error;
    };

  /** Starts a refresh, or joins the running one. `inflight` is set before the source or any listener runs. */
  const run = (reason: RefreshReason): Promise<AwsCredentialIdentity> => {
    if (inflight) return inflight;
    const w = config();
    if (w instanceof Error) return Promise.reject(w);
    const startedAt = rt.now();
    ledger.lastAttemptAt = startedAt;
    inflightSince = rt.monotonicNow();
    // The engine bounds every call itself: a source's own timeouts may be idle timeouts, which a trickle never trips.
    inflight = calls
      .call(source, w.attemptTimeoutMs)
      // What the source returned is checked before it counts: incomplete or too-short credentials are a failed refresh.
      .then((c) => acceptCredentials(name, c, rt.now(), w, rt.random()))
      .then(succeeded(reason, startedAt), failed(reason, startedAt))
      .finally(() => {
        inflight = undefined;
        schedule();
      });
    report.started(reason, startedAt);
    return inflight;
  };

  const decideNow = (mayWait: boolean): Decision =>
    decide({
      now: rt.now(),
      monotonic: rt.monotonicNow(),
      cached: windowsOf(cached),
      inflight: inflight !== undefined,
      mayCallAt: ledger.mayCallAt,
      mayCallAtWall: ledger.mayCallAtWall,
      mayWait,
    });

  const unavailable = (): CredbridgeError => {
    const next = new Date(mayCallAtWall(ledger, rt.now(), rt.monotonicNow())).toISOString();
    return new CredbridgeError(
      ledger.consecutiveFailures > 0
        ? `${name}: no valid credentials; the last refresh failed (${ledger.lastError?.message ?? "unknown error"}) and the next attempt is at ${next}`
        : `${name}: no valid credentials; the last ones left too little above the required remaining life, and the engine refreshes at most every ${Math.round(ledger.floorMs / 1000)} s: the next refresh is at ${next}. Ask the source for longer sessions, or lower the required remaining life`,
      { code: "ERR_EXPIRED" },
    );
  };

  const provider = (async (identityProperties?: { forceRefresh?: boolean }) => {
    if (identityProperties?.forceRefresh) return run("forced");
    const decision = decideNow(true);
    switch (decision.action) {
      case "cached-and-refresh":
        run(decision.reason).catch(ignore);
        return (cached as Cached).credentials;
      case "cached":
        return (cached as Cached).credentials;
      case "refuse":
        throw unavailable();
      default:
        try {
          return await (decision.action === "join"
            ? (inflight as Promise<AwsCredentialIdentity>)
            : run(decision.reason));
        } catch (error) {
          // Stale-if-error: still-valid credentials outlive a failed refresh.
          if (isUsable(cached, rt.now())) return cached.credentials;
          throw error;
        }
    }
  }) as RefreshingProvider;

  const peek = (): AwsCredentialIdentity | undefined => {
    const decision = decideNow(false);
    if (decision.action === "cached-and-refresh" || decision.action === "refresh")
      run(decision.reason).catch(ignore);
    return decision.action === "cached" || decision.action === "cached-and-refresh"
      ? cached?.credentials
      : undefined;
  };

  const start = (): void => {
    const w = config();
    if (w instanceof Error) throw w;
    if (started) return;
    started = true;
    if (!cached && !inflight) run("initial").catch(ignore);
    else schedule();
  };

  const stop = (): void => {
    started = false;
    cancelTimer();
  };

  Object.defineProperties(provider, {
    [REFRESHING]: { value: true },
    refresh: { value: () => run("forced") },
    peek: { value: peek },
    start: { value: start },
    stop: { value: stop },
    subscribe: { value: listeners.add },
    state: {
      value: () => {
        const w = config();
        return snapshot(
          name,
          cached,
          ledger,
          {
            refreshingForMs: inflight === undefined ? undefined : rt.monotonicNow() - inflightSince,
            attemptTimeoutMs:
              w instanceof Error ? DEFAULT_ATTEMPT_TIMEOUT_SECONDS * 1000 : w.attemptTimeoutMs,
            abandonedAttempts: calls.abandoned(),
            started,
            timerLateMs: watched.lateMs(),
          },
          rt.now(),
          rt.monotonicNow(),
        );
      },
    },
  });
  return provider;
};
