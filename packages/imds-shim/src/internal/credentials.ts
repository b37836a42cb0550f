import {
  CredbridgeError,
  DEFAULT_MIN_REMAINING_SECONDS,
  isRefreshingProvider,
  maskAccessKeyId,
  type RefreshingProvider,
  type Runtime,
  type RuntimeOptions,
  refreshing,
  validateWindows,
  windowsFor,
  withDeadline,
} from "@credbridge/core";
import type { HttpLimits, HttpServer, ListenOptions, RequestObserver, ServerAddress } from "@credbridge/http";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Logger } from "@smithy/types";

/** Served credentials always have at least this long left: core's margin, 15 minutes. */
export { DEFAULT_MIN_REMAINING_SECONDS };

const DEFAULT_WINDOWS = windowsFor(DEFAULT_MIN_REMAINING_SECONDS);
/** From this long before expiry, requests wait for new credentials: core's window for the default margin. */
export const DEFAULT_MANDATORY_WINDOW_SECONDS = DEFAULT_WINDOWS.mandatoryWindowSeconds;
/** From this long before expiry, new credentials are fetched in the background: core's window for the default margin. */
export const DEFAULT_ADVISORY_WINDOW_SECONDS = DEFAULT_WINDOWS.advisoryWindowSeconds;
/** How long a request waits for credentials when nothing servable is cached. */
export const DEFAULT_MAX_WAIT_MS = 500;
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
  maxWaitMs?: number | undefined;
}

export interface ServedCredentials {
  credentials: AwsCredentialIdentity;
  /** The expiration as served: whole seconds, rounded down, so it never overstates the lifetime. */
  expiration: Date;
}

/**
 * What a server serves from: the engine's credentials in their served form,
 * at once or after a bounded wait: the engine's downstream end (its upstream
 * is the source).
 */
export interface CredentialSupply {
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
   * at most `maxWaitMs`; rejects when none arrive in time or they
   * fall short of the margin.
   */
  get(): Promise<ServedCredentials>;
  /**
   * `reply(current())` synchronously, in the request's own callback; only a
   * request that must wait for a refresh (`get()`) takes a promise. Any
   * failure is `failed(error)`.
   */
  answer<R>(reply: (served: ServedCredentials) => R, failed: (error: unknown) => R): R | Promise<R>;
  /** When the engine last obtained credentials. */
  lastUpdated(): Date;
  start(): void;
  stop(): void;
}

export const createCredentialSupply = (
  options: ServedCredentialsOptions,
  rt: Runtime,
  name: string,
): CredentialSupply => {
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
  let maxWaitMs = DEFAULT_MAX_WAIT_MS;
  let started = false;

  const validate = (): void => {
    if (typeof provider !== "function") {
      throw new CredbridgeError(`${name}: the provider option must be a credential provider function`, {
        code: "ERR_CONFIG",
      });
    }
    // This server's margin, checked as core checks an engine's (its windows sit above it).
    validateWindows(windowsFor(margin), name);
    minRemainingMs = margin * 1000;
    const wait = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    if (!Number.isFinite(wait) || wait < 0) {
      throw new CredbridgeError(`${name}: maxWaitMs must be a non-negative number, got ${wait}`, {
        code: "ERR_CONFIG",
      });
    }
    maxWaitMs = wait;
    // A shared engine runs on its owner's windows, checked by its owner.
    if (!shared) validateWindows(windows, name);
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
    // On time-out the caller gets ERR_TIMEOUT at once; the refresh goes on, and later requests get its result.
    const served = toServed(
      await withDeadline(
        rt,
        maxWaitMs,
        () => engine(),
        () =>
          new CredbridgeError(
            `${name}: no servable credentials within ${maxWaitMs} ms; the refresh goes on, retry shortly`,
            { code: "ERR_TIMEOUT" },
          ),
      ),
    );
    if (!meetsMargin(served)) throw tooShort(served);
    return served;
  };

  const answer = <R>(
    reply: (served: ServedCredentials) => R,
    failed: (error: unknown) => R,
  ): R | Promise<R> => {
    try {
      const served = current();
      if (served) return reply(served);
    } catch (error) {
      return failed(error);
    }
    return get().then(reply).catch(failed);
  };

  return {
    engine,
    validate,
    current,
    get,
    answer,
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

export interface PreparedCredentialsReply<R> {
  /** The answer for these credentials, rendered only when they (or their served expiration) changed. */
  (served: ServedCredentials): R;
  /** Drops the rendered answer: what it was rendered from (the route) changed. */
  forget(): void;
}

/**
 * The credentials answer of a server, rendered once per credential set and
 * served expiration, then reused for every request (a `reused` reply: the
 * HTTP core builds its wire headers once too).
 */
export const preparedCredentialsReply = <R>(
  server: string,
  render: (served: ServedCredentials) => R,
  logger: Logger | undefined,
): PreparedCredentialsReply<R> => {
  let last: { credentials: AwsCredentialIdentity; expiration: number; reply: R } | undefined;
  const reply = (served: ServedCredentials): R => {
    const expiration = served.expiration.getTime();
    if (last?.credentials !== served.credentials || last.expiration !== expiration) {
      last = { credentials: served.credentials, expiration, reply: render(served) };
      logger?.debug?.(
        `credbridge ${server}: serving key ${maskAccessKeyId(served.credentials.accessKeyId)} until ${served.expiration.toISOString()}`,
      );
    }
    return last.reply;
  };
  return Object.assign(reply, {
    forget: () => {
      last = undefined;
    },
  });
};

/** HTTP options both servers take. */
export interface ServerOptions {
  /** Default 0: a free port, reported by `listen`. */
  port?: number | undefined;
  /**
   * Further `Host` header values to accept: `name` (any port) or `name:port`.
   * The bound address, `localhost` on loopback and the protocol's link-local addresses are always accepted.
   */
  allowedHosts?: readonly string[] | undefined;
  limits?: HttpLimits | undefined;
  /** Warnings (never a secret; access keys masked). Default: the runtime's logger. */
  logger?: Logger | undefined;
  /** Called after each response, for metrics. */
  onRequest?: RequestObserver | undefined;
  /** Clock, environment and logger; Node's by default. */
  runtime?: RuntimeOptions | undefined;
}

/** What both servers return: the HTTP server's lifecycle and the engine behind it. */
export interface CredentialsServer {
  /** Binds and serves; the address's `url` is what clients are configured with. */
  listen(options?: ListenOptions): Promise<ServerAddress>;
  /** Stops accepting, lets in-flight requests finish (up to `limits.closeGraceMs`), stops its own engine. */
  close(): Promise<void>;
  /** Undefined until listening. */
  readonly address: ServerAddress | undefined;
  /** The refresh engine credentials are served from. */
  readonly engine: RefreshingProvider;
}

/** Builds the handle a server returns from its HTTP server and the supply it serves from. */
export const credentialsServer = (http: HttpServer, supply: CredentialSupply): CredentialsServer => ({
  listen: http.listen,
  close: http.close,
  get address() {
    return http.address;
  },
  engine: supply.engine,
});
