import {
  backoffDelay,
  CredbridgeError,
  isCredbridgeError,
  isRefreshingProvider,
  type RefreshingOptions,
  type RefreshingProvider,
  type RefreshState,
  refreshing,
  resolveRuntime,
  setWallClockTimer,
  type TimerHandle,
} from "@credbridge/core";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { isCredentialsFileError } from "./errors.js";
import { resolveFileRequest } from "./internal/file-request.js";
import { removeProfile } from "./remove-profile.js";
import { type WriteCredentialsOptions, writeCredentials } from "./write-credentials.js";

export interface StartRefresherOptions extends WriteCredentialsOptions {
  /**
   * Refresh windows, jitter and retries of core's engine, used when `provider`
   * is not already a refreshing provider. Defaults: refresh from 15 min before
   * expiry, with up to 60 s of jitter.
   */
  refresh?: Omit<RefreshingOptions, "observer"> | undefined;
  /**
   * Credentials with less than this many seconds left are never written: not
   * at first, not on a retry after a failed write (they wait for new ones from
   * the engine instead). Give it the margin the other outputs of the same
   * engine keep. Default: `refresh.minRemainingSeconds`, else 0.
   */
  minRemainingSeconds?: number | undefined;
  /** Backoff between failed writes. Default 1 s doubling to 60 s, with jitter. */
  retry?: { initialDelayMs?: number | undefined; maxDelayMs?: number | undefined } | undefined;
  /** Called with every write outcome; for metrics. Never given a secret. */
  observer?: ((event: RefresherEvent) => void) | undefined;
  /** On `stop()`, remove the profile from the file so no credentials are left behind. Default false. */
  removeOnStop?: boolean | undefined;
}

export type RefresherEvent =
  | { type: "write-success"; path: string; profile: string; at: Date; expiration: Date | undefined }
  | {
      type: "write-failure";
      path: string;
      profile: string;
      at: Date;
      error: Error;
      consecutiveFailures: number;
      /** When the write is tried again; undefined when it waits for new credentials instead. */
      retryAt: Date | undefined;
    }
  | { type: "file-expired"; path: string; profile: string; at: Date; expiration: Date };

/** A snapshot for health checks. Holds no secret. */
export interface RefresherStatus {
  path: string;
  profile: string;
  /** Last successful write. */
  lastWriteAt: Date | undefined;
  /** Expiration of the credentials the file now holds; undefined before the first write or when they never expire. */
  expirationWritten: Date | undefined;
  lastError: { message: string; code: string | undefined; at: Date } | undefined;
  writes: number;
  failures: number;
  consecutiveFailures: number;
  /** A write is in progress. */
  writing: boolean;
  stopped: boolean;
  /**
   * Written at least once, and what the file holds has more than
   * `minRemainingSeconds` left: the margin every output keeps, so a file the
   * writer could not renew in time (a lock held by another writer, a full
   * disk) stops counting as healthy when IMDS would stop serving the same
   * credentials, not only once they have expired.
   */
  healthy: boolean;
  /** The margin `healthy` keeps, in seconds. */
  minRemainingSeconds: number;
  /** The refresh engine's own state. */
  refresh: RefreshState;
}

export interface RefresherStopOptions {
  /**
   * Bounds the stop: once aborted, a write still waiting for the file's lock,
   * and the removal of the profile, give up their wait (ERR_ABORTED), leaving
   * nothing of theirs behind (no lock, no queue ticket). A shutdown budget.
   */
  signal?: AbortSignal | undefined;
}

export interface RefresherStopResult {
  /**
   * With `removeOnStop`: whether the profile is gone from the file (true when
   * it was not there either); false when the removal failed or was given up,
   * and the file still holds the credentials. Undefined without `removeOnStop`.
   */
  profileRemoved: boolean | undefined;
}

export interface RefresherHandle {
  status(): RefresherStatus;
  /** Resolves after the first successful write; rejects if stopped before one. */
  ready(): Promise<void>;
  /**
   * Stops writing, waits for an in-flight write, and removes the profile if
   * `removeOnStop`. Stops the refresh engine's timer when the refresher made the
   * engine; a refreshing provider passed in keeps running for its other users.
   * Resolves (never rejects) with whether the profile was removed.
   */
  stop(options?: RefresherStopOptions): Promise<RefresherStopResult>;
  /** The refresh engine the refresher writes from. */
  readonly provider: RefreshingProvider;
}

const errorCode = (error: Error): string | undefined =>
  isCredentialsFileError(error) ? error.code : isCredbridgeError(error) ? error.code : error.name;

/**
 * Keeps a profile of the shared credentials file fresh for applications whose
 * SDK only reads `~/.aws/credentials`: writes once the first credentials
 * arrive, then again each time the refresh engine fetches new ones (inside its
 * advisory window, with jitter). A failed write is retried with backoff, and
 * the loop never dies on an error; a file left holding expired credentials is
 * logged as an error. Throws a CredbridgeError at once for invalid options.
 */
export const startRefresher = (
  provider: AwsCredentialIdentityProvider,
  options: StartRefresherOptions = {},
): RefresherHandle => {
  if (typeof provider !== "function") {
    throw new CredbridgeError("writer: startRefresher needs a credential provider function", {
      code: "ERR_CONFIG",
    });
  }
  const rt = resolveRuntime(options.runtime);
  const logger = options.logger ?? rt.logger;
  // Resolve once, so the file and profile cannot drift with the environment.
  const { path, profile } = resolveFileRequest("credentials", options);
  // Aborted when stop() is told to give up: a write waiting for the lock then stops waiting.
  const giveUp = new AbortController();
  const writeSignal = options.signal ? AbortSignal.any([giveUp.signal, options.signal]) : giveUp.signal;
  const retry = {
    initialDelayMs: options.retry?.initialDelayMs ?? 1_000,
    maxDelayMs: options.retry?.maxDelayMs ?? 60_000,
  };
  const minRemainingSeconds = options.minRemainingSeconds ?? options.refresh?.minRemainingSeconds ?? 0;
  if (!Number.isFinite(minRemainingSeconds) || minRemainingSeconds < 0) {
    throw new CredbridgeError(
      `writer: minRemainingSeconds must be a non-negative number of seconds, got ${minRemainingSeconds}`,
      { code: "ERR_CONFIG" },
    );
  }
  // The writer re-checks the margin under the lock, just before its rename.
  const writeOptions: WriteCredentialsOptions = {
    ...options,
    path,
    profile,
    minRemainingSeconds,
    signal: writeSignal,
  };

  // An engine passed in may feed other outputs too (an IMDS shim): it is
  // started, but stopping it is left to its owner.
  const owned = !isRefreshingProvider(provider);
  const engine = !owned
    ? provider
    : refreshing(provider, {
        source: `credentials file ${profile}`,
        ...options.refresh,
        runtime: { ...options.runtime, ...(logger ? { logger } : {}), ...options.refresh?.runtime },
      });

  let stopped = false;
  let writes = 0;
  let failures = 0;
  let consecutiveFailures = 0;
  let lastWriteAt: number | undefined;
  let expirationWritten: Date | undefined;
  let lastError: RefresherStatus["lastError"];
  let writing = false;
  let pending: AwsCredentialIdentity | undefined;
  let lastQueued: AwsCredentialIdentity | undefined;
  let loop: Promise<void> | undefined;
  let wake: AbortController | undefined;
  let watchdog: TimerHandle | undefined;
  const waiters: Array<{ resolve(): void; reject(error: Error): void }> = [];

  const emit = (event: RefresherEvent) => {
    try {
      options.observer?.(event);
    } catch (error) {
      logger?.warn(`credbridge: a refresher observer threw: ${(error as Error)?.message}`);
    }
  };

  const watchExpiry = (expiration: Date | undefined) => {
    watchdog?.cancel();
    watchdog = undefined;
    if (expiration === undefined) return;
    // An expiry is a wall-clock moment: after a suspend the alarm must not wait out the time asleep.
    watchdog = setWallClockTimer(
      rt,
      expiration.getTime(),
      () => {
        if (stopped || expirationWritten !== expiration) return;
        logger?.error(
          `credbridge: ${path} [${profile}] now holds credentials that expired at ${expiration.toISOString()}; the application's AWS calls will fail until a write succeeds` +
            (lastError ? ` (last error: ${lastError.message})` : ""),
        );
        emit({ type: "file-expired", path, profile, at: new Date(rt.now()), expiration });
      },
      { unref: true },
    );
  };

  /** `held`: when the credentials the file now holds expire (later ones another writer put there, maybe). */
  const succeeded = (held: Date | undefined) => {
    const now = rt.now();
    writes++;
    consecutiveFailures = 0;
    lastWriteAt = now;
    expirationWritten = held;
    watchExpiry(expirationWritten);
    logger?.info?.(
      `credbridge: ${path} [${profile}] updated; credentials expire ${expirationWritten?.toISOString() ?? "never"}`,
    );
    emit({ type: "write-success", path, profile, at: new Date(now), expiration: expirationWritten });
    for (const w of waiters.splice(0)) w.resolve();
  };

  /** Records a failure; returns the backoff delay, or undefined to wait for new credentials instead. */
  const failed = (error: Error): number | undefined => {
    const now = rt.now();
    failures++;
    consecutiveFailures++;
    lastError = { message: error.message, code: errorCode(error), at: new Date(now) };
    const waitForNew = isCredbridgeError(error) && error.code === "ERR_EXPIRED";
    const delay = waitForNew ? undefined : backoffDelay(consecutiveFailures, rt.random, retry);
    const retryAt = delay === undefined ? undefined : new Date(now + delay);
    // Waiting for new credentials (no retry scheduled) counts as left holding these.
    const expired =
      expirationWritten !== undefined &&
      (retryAt === undefined || retryAt.getTime() >= expirationWritten.getTime());
    const message =
      `credbridge: writing ${path} [${profile}] failed (${consecutiveFailures} in a row): ${error.message}; ` +
      (retryAt
        ? `retrying at ${retryAt.toISOString()}`
        : "waiting for new credentials from the refresh engine") +
      (expired
        ? `; the file is left holding credentials that expire at ${expirationWritten?.toISOString()}`
        : "");
    if (expired || lastWriteAt === undefined) logger?.error(message);
    else logger?.warn(message);
    emit({ type: "write-failure", path, profile, at: new Date(now), error, consecutiveFailures, retryAt });
    return delay;
  };

  /** Throws ERR_EXPIRED (wait for new credentials, no retry) for credentials inside the margin. */
  const refuseIfShort = (credentials: AwsCredentialIdentity): void => {
    if (credentials.expiration === undefined) return;
    const leftMs = credentials.expiration.getTime() - rt.now();
    if (leftMs >= minRemainingSeconds * 1000) return;
    throw new CredbridgeError(
      `these credentials expire at ${credentials.expiration.toISOString()}, ${Math.max(0, Math.floor(leftMs / 1000))} s from now, less than the ${minRemainingSeconds} s every output keeps; not writing them`,
      { code: "ERR_EXPIRED" },
    );
  };

  const run = async () => {
    while (pending !== undefined && !stopped) {
      const credentials = pending;
      pending = undefined;
      writing = true;
      let delay: number | undefined;
      try {
        // Checked on every try: a retry after a backoff may come too late for these.
        refuseIfShort(credentials);
        const result = await writeCredentials(credentials, writeOptions);
        succeeded(result.expiration ?? credentials.expiration);
      } catch (cause) {
        const error = cause instanceof Error ? cause : new Error(String(cause));
        delay = failed(error);
        // Newer credentials that arrived meanwhile win; otherwise retry these.
        if (delay !== undefined) pending ??= credentials;
      } finally {
        writing = false;
      }
      // Back off only when retrying the same credentials; newer ones are tried at once.
      if (delay !== undefined && !stopped && pending === credentials) {
        wake = new AbortController();
        await rt.sleep(delay, wake.signal).catch(() => {
          // Woken early by new credentials or stop().
        });
        wake = undefined;
      }
    }
  };

  const kick = () => {
    loop ??= run().finally(() => {
      loop = undefined;
      // Credentials queued while the loop was winding down.
      if (pending !== undefined && !stopped) kick();
    });
  };

  const queue = (credentials: AwsCredentialIdentity) => {
    if (stopped || credentials === lastQueued) return;
    lastQueued = credentials;
    pending = credentials;
    // New credentials cut a backoff short: they may well be writable now.
    wake?.abort();
    kick();
  };

  const unsubscribe = engine.subscribe((event) => {
    if (event.type === "refresh-success") queue(event.credentials);
  });
  engine.start();
  // A provider that already holds credentials emits nothing until its next refresh.
  engine().then(queue, () => {
    // The engine logs the failure and retries on its timer.
  });

  let stopping: Promise<RefresherStopResult> | undefined;
  const stop = (stopOptions: RefresherStopOptions = {}) => {
    const bound = stopOptions.signal;
    if (bound) {
      if (bound.aborted) giveUp.abort(bound.reason);
      else bound.addEventListener("abort", () => giveUp.abort(bound.reason), { once: true });
    }
    stopping ??= (async (): Promise<RefresherStopResult> => {
      stopped = true;
      if (owned) engine.stop();
      unsubscribe();
      watchdog?.cancel();
      wake?.abort();
      await loop;
      for (const w of waiters.splice(0)) {
        w.reject(
          new CredbridgeError(`writer: the refresher for ${path} was stopped before its first write`, {
            code: "ERR_CONFIG",
          }),
        );
      }
      if (!options.removeOnStop) return { profileRemoved: undefined };
      try {
        // Bounded by stop's signal alone: the caller's own (SIGTERM) has fired by now.
        await removeProfile(profile, { ...options, path, signal: giveUp.signal });
        return { profileRemoved: true };
      } catch (error) {
        lastError = {
          message: (error as Error).message,
          code: errorCode(error as Error),
          at: new Date(rt.now()),
        };
        logger?.error(
          `credbridge: could not remove [${profile}] from ${path} on stop: ${(error as Error).message}`,
        );
        return { profileRemoved: false };
      }
    })();
    return stopping;
  };

  return {
    provider: engine,
    stop,
    ready: () =>
      lastWriteAt !== undefined
        ? Promise.resolve()
        : stopped
          ? Promise.reject(
              new CredbridgeError(`writer: the refresher for ${path} is stopped`, { code: "ERR_CONFIG" }),
            )
          : new Promise<void>((resolve, reject) => waiters.push({ resolve, reject })),
    status: () => {
      const now = rt.now();
      return {
        path,
        profile,
        lastWriteAt: lastWriteAt === undefined ? undefined : new Date(lastWriteAt),
        expirationWritten,
        lastError,
        writes,
        failures,
        consecutiveFailures,
        writing,
        stopped,
        healthy:
          !stopped &&
          lastWriteAt !== undefined &&
          (expirationWritten === undefined || expirationWritten.getTime() - now > minRemainingSeconds * 1000),
        minRemainingSeconds,
        refresh: engine.state(),
      };
    },
  };
};
