import type { RefreshingProvider, RuntimeOptions } from "@credbridge/core";
import type { HttpLimits, HttpServer, ListenOptions, RequestObserver, ServerAddress } from "@credbridge/http";
import type { Logger } from "@smithy/types";

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

/** Builds the handle a server returns from its HTTP server and the engine it serves from. */
export const credentialsServer = (
  http: HttpServer,
  supply: { readonly engine: RefreshingProvider },
): CredentialsServer => ({
  listen: http.listen,
  close: http.close,
  get address() {
    return http.address;
  },
  engine: supply.engine,
});
