import {
  CredbridgeError,
  DEFAULT_MIN_REMAINING_SECONDS,
  isRefreshingProvider,
  type RefreshingProvider,
  type Runtime,
  refreshing,
  validateWindows,
  windowsFor,
} from "@credbridge/core";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { withDeadline } from "./deadline.js";

/** Served credentials always have at least this long left: core's margin, 15 minutes. */
export { DEFAULT_MIN_REMAINING_SECONDS };

const DEFAULT_WINDOWS = windowsFor(DEFAULT_MIN_REMAINING_SECONDS);
/** From this long before expiry, requests wait for new credentials: core's window for the default margin. */
export const DEFAULT_MANDATORY_WINDOW_SECONDS = DEFAULT_WINDOWS.mandatoryWindowSeconds;
/** From this long before expiry, new credentials are fetched in the background: core's window for the default margin. */
export const DEFAULT_ADVISORY_WINDOW_SECONDS = DEFAULT_WINDOWS.advisoryWindowSeconds;
/** How long a request waits for credentials when nothing servable is cached. */
export const DEFAULT_MAX_WAIT_MILLISECONDS = 500;
/** Credentials without an expiration (long-term keys) are served as if they expired this long from now. */
export const STATIC_CREDENTIALS_LIFETIME_SECONDS = 3600;

/** The credential options both servers share. */
export interface ServedCredentialsOptions {
  /**
   * Any credential provider. Wrapped in core's refresh engine with the windows
   * below, unless it already is a `RefreshingProvider` (from `refreshing()`):
   * then it is used as is, so one engine can feed a credentials file and both
   * servers. Whoever configures a shared engine must give it
   * `minRemainingSeconds` at least this server's, or this server refuses (500)
   * credentials the engine still considers usable.
   */
  provider: AwsCredentialIdentityProvider;
  /** Credentials with less than this left are never served. Default 900 (15 min). */
  minRemainingSeconds?: number | undefined;
  /** Seconds before expiry from which requests wait for a refresh. Default 960. Ignored for a shared engine. */
  mandatoryWindowSeconds?: number | undefined;
  /** Seconds before expiry from which the engine refreshes in the background. Default 1200. Ignored for a shared engine. */
  advisoryWindowSeconds?: number | undefined;
  /**
   * Fetch on `listen` and keep the credentials fresh in the background, so no
   * request waits for STS. Default true. Applies only to the engine the server
   * creates itself; a shared engine is started by its owner.
   */
  prefetch?: boolean | undefined;
  /**
   * How long a request waits for credentials when none that meet the margin
   * are cached (first fetch, or after a failed refresh let them lapse), before
   * it gets an error and retries. Default 500 ms, well under the SDKs' 1 s
   * metadata timeout. A request never waits while servable credentials are cached.
   */
  maxWaitMilliseconds?: number | undefined;
}

export interface ServedCredentials {
  credentials: AwsCredentialIdentity;
  /** The expiration as served: whole seconds, rounded down, so it never overstates the lifetime. */
  expiration: Date;
}

export interface CredentialSource {
  /** The engine behind the server: its own, or the shared one it was given. */
  readonly engine: RefreshingProvider;
  /** Throws ERR_CONFIG for windows the engine would refuse. */
  validate(): void;
  /**
   * Cached credentials with at least the margin left, at once, or undefined;
   * starts a refresh in the background when one is due. Never waits.
   */
  current(): ServedCredentials | undefined;
  /**
   * `current()`, else the credentials of the refresh it started, waited for
   * at most `maxWaitMilliseconds`; rejects when none arrive in time or they
   * fall short of the margin.
   */
  get(): Promise<ServedCredentials>;
  /** When the engine last obtained credentials. */
  lastUpdated(): Date;
  start(): void;
  stop(): void;
}

export const createCredentialSource = (
  options: ServedCredentialsOptions,
  rt: Runtime,
  name: string,
): CredentialSource => {
  const provider = options.provider;
  const shared = isRefreshingProvider(provider);
  const margin = options.minRemainingSeconds ?? DEFAULT_MIN_REMAINING_SECONDS;
  const windows = {
    minRemainingSeconds: margin,
    mandatoryWindowSeconds: options.mandatoryWindowSeconds ?? DEFAULT_MANDATORY_WINDOW_SECONDS,
    advisoryWindowSeconds: options.advisoryWindowSeconds ?? DEFAULT_ADVISORY_WINDOW_SECONDS,
  };
  const engine: RefreshingProvider = shared
    ? provider
    : refreshing(provider, { ...windows, name, runtime: rt });
  let minRemainingMs = DEFAULT_MIN_REMAINING_SECONDS * 1000;
  let maxWaitMs = DEFAULT_MAX_WAIT_MILLISECONDS;
  let started = false;

  const validate = (): void => {
    if (typeof provider !== "function") {
      throw new CredbridgeError(`${name}: the provider option must be a credential provider function`, {
        code: "ERR_CONFIG",
      });
    }
    // This server's margin, checked as core checks an engine's (its windows sit above it).
    validateWindows(windowsFor(margin));
    minRemainingMs = margin * 1000;
    const wait = options.maxWaitMilliseconds ?? DEFAULT_MAX_WAIT_MILLISECONDS;
    if (!Number.isFinite(wait) || wait < 0) {
      throw new CredbridgeError(`${name}: maxWaitMilliseconds must be a non-negative number, got ${wait}`, {
        code: "ERR_CONFIG",
      });
    }
    maxWaitMs = wait;
    // A shared engine runs on its owner's windows, checked by its owner.
    if (!shared) validateWindows(windows);
  };

  /** The served form: expiration in whole seconds (rounded down), a lifetime for keys that never expire. */
  const toServed = (credentials: AwsCredentialIdentity): ServedCredentials => {
    if (credentials.expiration === undefined) {
      const now = Math.floor(rt.now() / 1000) * 1000;
      return { credentials, expiration: new Date(now + STATIC_CREDENTIALS_LIFETIME_SECONDS * 1000) };
    }
    if (last?.credentials !== credentials) {
      last = {
        credentials,
        expiration: new Date(Math.floor(credentials.expiration.getTime() / 1000) * 1000),
      };
    }
    return last;
  };
  let last: ServedCredentials | undefined;

  const meetsMargin = (served: ServedCredentials): boolean =>
    served.expiration.getTime() - rt.now() >= minRemainingMs;

  const current = (): ServedCredentials | undefined => {
    const credentials = engine.peek();
    if (credentials === undefined) return undefined;
    const served = toServed(credentials);
    return meetsMargin(served) ? served : undefined;
  };

  const tooShort = (served: ServedCredentials): CredbridgeError => {
    const left = served.expiration.getTime() - rt.now();
    return new CredbridgeError(
      `${name}: the credentials have ${Math.max(0, Math.floor(left / 1000))} s left, less than the ${minRemainingMs / 1000} s this server guarantees its clients` +
        (shared
          ? "; give the shared refreshing engine a minRemainingSeconds at least this server's"
          : "; the provider keeps returning short-lived credentials"),
      { code: "ERR_EXPIRED" },
    );
  };

  const get = async (): Promise<ServedCredentials> => {
    const now = current();
    if (now) return now;
    const served = toServed(await withDeadline(engine(), maxWaitMs, rt, name));
    if (!meetsMargin(served)) throw tooShort(served);
    return served;
  };

  return {
    engine,
    validate,
    current,
    get,
    lastUpdated: () => engine.state().lastSuccessAt ?? new Date(rt.now()),
    start: () => {
      if (shared || options.prefetch === false || started) return;
      started = true;
      engine.start();
    },
    stop: () => {
      if (!started) return;
      started = false;
      engine.stop();
    },
  };
};
