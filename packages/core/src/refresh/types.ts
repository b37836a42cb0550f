import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import type { BackoffOptions } from "../internal/backoff.js";
import type { RuntimeOptions } from "../runtime.js";
import type { RefreshReason, RefreshStatus } from "./decision.js";
import type { WindowOptions } from "./windows.js";

export type { RefreshReason, RefreshStatus };

/** What the engine reports to its observers: for metrics, logs and writers. */
export type RefreshEvent =
  | { type: "refresh-start"; name: string; reason: RefreshReason; at: Date }
  | {
      type: "refresh-success";
      name: string;
      reason: RefreshReason;
      at: Date;
      /** The new credentials: for writers and servers. Never log them. */
      credentials: AwsCredentialIdentity;
      expiration: Date | undefined;
      durationMs: number;
    }
  | {
      type: "refresh-failure";
      name: string;
      reason: RefreshReason;
      at: Date;
      error: Error;
      /** How long the failed attempt ran, to its error or its deadline. */
      durationMs: number;
      consecutiveFailures: number;
      /** The earliest moment the engine will call the source again. */
      retryAt: Date;
      /** Whether still-valid cached credentials keep being served. */
      servingCached: boolean;
    };

export type RefreshListener = (event: RefreshEvent) => void;

/** A snapshot for health checks. Holds no secret. */
export interface RefreshState {
  /** The engine's name, from the `name` option. */
  name: string;
  status: RefreshStatus;
  /** Expiration of the cached credentials; undefined when none or they never expire. */
  expiration: Date | undefined;
  /** Last four characters of the cached access key id, masked. */
  accessKeyId: string | undefined;
  lastSuccessAt: Date | undefined;
  lastAttemptAt: Date | undefined;
  /**
   * The last failure. `current` is true while it is the latest outcome (no
   * success since), false once a later refresh succeeded.
   */
  lastError: { message: string; code: string | undefined; at: Date; current: boolean } | undefined;
  consecutiveFailures: number;
  /**
   * When the engine next means to call its source, if it knows: the start of
   * the advisory window of the credentials held (the schedule's `refreshAt`),
   * or later while the floor or a backoff holds it back.
   */
  refreshAt: Date | undefined;
  /**
   * When the credentials held enter the mandatory window: from then `status`
   * is `mandatory` and callers wait for a refresh. Placed once, when they
   * arrived: the window configured, shorter for credentials too short for it.
   * Undefined when none are held or they never expire.
   */
  mandatoryAt: Date | undefined;
  refreshing: boolean;
  /** How long the refresh in flight has been running, on the monotonic clock; undefined when none is. */
  refreshingForMs: number | undefined;
  /** How long one attempt may take before the engine gives up on it. */
  attemptTimeoutMs: number;
  /** Attempts given up at their deadline whose call to the source has still not returned. */
  abandonedAttempts: number;
  /** Whether `start()` keeps it refreshing on its timer. */
  started: boolean;
  /**
   * How far past its moment the engine's pending timer is, on the monotonic
   * clock (0 until then); undefined when none is pending. More than a few
   * seconds means its timers no longer run: nothing will refresh.
   */
  timerLateMs: number | undefined;
  refreshes: number;
  failures: number;
}

export interface RefreshingOptions extends WindowOptions {
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
  /**
   * How long one call to the source may take, in seconds. Default 60. The
   * engine does not trust a source's own timeouts (an idle timeout never trips
   * on an answer that trickles in): past this the attempt counts as failed,
   * with backoff, and the next attempt may start, while the abandoned call is
   * left to finish on its own and its result ignored.
   */
  attemptTimeoutSeconds?: number | undefined;
  /** Backoff between failed refreshes. Default 1 s doubling to 5 min, with jitter. */
  retry?: BackoffOptions | undefined;
  /** The engine's name in state, events and logs. Default "credentials". */
  name?: string | undefined;
  /** Called with every event; the same as `subscribe`. */
  observer?: RefreshListener | undefined;
  runtime?: RuntimeOptions | undefined;
}

/** A credential provider backed by the refresh engine. */
export interface RefreshingProvider extends AwsCredentialIdentityProvider {
  /** Fetches new credentials now (single-flight with any refresh already running). */
  refresh(): Promise<AwsCredentialIdentity>;
  /**
   * The cached credentials if they are usable now, without ever waiting: a
   * refresh that is due (advisory or mandatory window, or nothing usable
   * cached) starts in the background. Undefined when nothing usable is cached;
   * calling the provider then waits for that refresh. For servers, which must
   * answer at once while they hold servable credentials.
   */
  peek(): AwsCredentialIdentity | undefined;
  /** Refreshes on a timer before expiry even when nobody asks: for sidecars and writers. Throws ERR_CONFIG for invalid windows. */
  start(): void;
  /** Cancels the timer started by `start`. An in-flight refresh still completes. */
  stop(): void;
  state(): RefreshState;
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: RefreshListener): () => void;
  readonly [REFRESHING]: true;
}

export const REFRESHING: unique symbol = Symbol.for("credbridge.refreshing");

export const isRefreshingProvider = (value: unknown): value is RefreshingProvider =>
  typeof value === "function" && (value as unknown as Record<symbol, unknown>)[REFRESHING] === true;
