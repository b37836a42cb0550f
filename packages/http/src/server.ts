import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { SecureContextOptions } from "node:tls";
import { CredbridgeError } from "@credbridge/core";
import { hostLiteral } from "@credbridge/core/wire";
import type { Logger } from "@smithy/types";
import { createByteBudget } from "./internal/budget.js";
import { type Connections, trackConnections } from "./internal/connections.js";
import { createHostCheck } from "./internal/hosts.js";
import { type HttpLimits, type ResolvedLimits, resolveLimits } from "./internal/limits.js";
import {
  createPipeline,
  type ErrorReply,
  type Handler,
  type PipelineState,
  type RequestObserver,
  textErrorReply,
} from "./internal/pipeline.js";

/** Where to listen; each field overrides the server's option of the same name. */
export interface ListenOptions {
  host?: string | undefined;
  port?: number | undefined;
}

/** The address a server listens on. */
export interface ServerAddress {
  /** The URL a client is configured with (see `url`). */
  url: string;
  /** The bound address, e.g. `127.0.0.1` or `::1`. */
  host: string;
  port: number;
}

export interface HttpServerOptions {
  /** Names the server in logs, errors and each `RequestInfo`. */
  name: string;
  /** Answers every request that passed the checks. */
  handler: Handler;
  /** Default 127.0.0.1. */
  host?: string | undefined;
  /** Default 0: a free port, reported by `listen`. */
  port?: number | undefined;
  limits?: HttpLimits | undefined;
  /**
   * `Host` values accepted on port 80 or the bound port besides the bound
   * address (and `localhost` on loopback): addresses clients reach the server
   * by through a redirect, such as 169.254.169.254.
   */
  wellKnownHosts?: readonly string[] | undefined;
  /**
   * Further `Host` values: `name` for any port, `name:port` for that port,
   * `*.domain` for any one label under it (RFC 6125), `*` for any value at all
   * (a server with nothing for a DNS-rebinding page to read).
   */
  allowedHosts?: readonly string[] | undefined;
  /** The server's own replies (403, 413, 503…), in the caller's protocol. Default: plain text. */
  errorReply?: ErrorReply | undefined;
  /** Read each request's body before the handler runs (bounded by `maxBodyBytes` and `maxBufferedBytes`), into `ctx.body`. */
  readBody?: boolean | undefined;
  /** Serve HTTPS with this key and certificate (replaced later with `setSecureContext`); plain HTTP without. */
  tls?: SecureContextOptions | undefined;
  /** Warnings: a failed handler, connections given up at the limit. Never a request's content. */
  logger?: Logger | undefined;
  /** Called after each response, for metrics. */
  onRequest?: RequestObserver | undefined;
  /** Turns the bound address (`http://127.0.0.1:8080`) into the URL `listen` reports. Default: as is. */
  url?: ((base: string) => string) | undefined;
  /** Runs at `listen` before binding (validate, start dependencies); a rejection aborts `listen`. */
  beforeListen?: (() => void | Promise<void>) | undefined;
  /** Runs once the server is closed, or when `listen` failed after `beforeListen`. */
  afterClose?: (() => void) | undefined;
}

export interface HttpServer {
  /** Binds and serves. */
  listen(options?: ListenOptions): Promise<ServerAddress>;
  /**
   * Stops accepting; requests in flight are answered (with `Connection: close`),
   * every other connection is cut at once, whatever remains after
   * `limits.closeGraceMs` is cut too.
   */
  close(): Promise<void>;
  /** Undefined until listening. */
  readonly address: ServerAddress | undefined;
  /**
   * Replaces the key and certificate of an HTTPS server for new connections (a
   * rotated certificate). Throws ERR_CONFIG, keeping the pair in use, when the
   * new pair cannot serve (a key that is not the certificate's).
   */
  setSecureContext(options: SecureContextOptions): void;
  /** Replaces `allowedHosts` from now on. */
  setAllowedHosts(hosts: readonly string[]): void;
}

/**
 * A body or an unsent answer that moved no byte for this long is taken to be
 * held back on purpose and may make room for others: an honest client sends
 * and reads without pausing (the API server sends a review in one write).
 */
const STALLED_MS = 1_000;

const budgetFor = (limits: ResolvedLimits) =>
  createByteBudget({ max: limits.maxBufferedBytes, stalledMs: STALLED_MS, now: () => performance.now() });

/** How long connection-limit warnings stay quiet after one. */
const LIMIT_WARNING_EVERY_MS = 60_000;

/**
 * A hardened HTTP (or HTTPS) server: the `Host` check, strict paths, bounded
 * heads and bodies, a bound on the bytes held for clients (bodies received,
 * answers not yet sent), timeouts from the TLS handshake to the last byte of
 * the answer, connection slots that idle clients cannot keep,
 * one reply writer, the request observer, and a graceful close. Creating it
 * does nothing; `listen` binds.
 */
export const createHttpServer = (options: HttpServerOptions): HttpServer => {
  const { name } = options;
  let server: Server | undefined;
  let connections: Connections | undefined;
  let address: ServerAddress | undefined;
  let allowedHosts = options.allowedHosts ?? [];
  let bound: AddressInfo | undefined;
  let tls = options.tls;
  let closing: Promise<void> | undefined;
  const afterClose = () => options.afterClose?.();
  let lastLimitWarning = Number.NEGATIVE_INFINITY;

  const hostCheckFor = (hosts: readonly string[]) =>
    bound
      ? createHostCheck({
          boundAddress: bound.address,
          port: bound.port,
          wellKnown: options.wellKnownHosts ?? [],
          allowedHosts: hosts,
        })
      : () => false;

  const state: PipelineState = {
    hostCheck: () => false,
    limits: resolveLimits({}),
    budget: budgetFor(resolveLimits({})),
    draining: false,
    answering: (res) => connections?.answering(res),
    answered: (res) => connections?.answered(res),
  };

  const pipeline = createPipeline(
    {
      name,
      handler: options.handler,
      errorReply: options.errorReply ?? textErrorReply,
      readBody: options.readBody === true,
      logger: options.logger,
      onRequest: options.onRequest,
    },
    state,
  );

  const onLimit = () => {
    const now = performance.now();
    if (now - lastLimitWarning < LIMIT_WARNING_EVERY_MS) return;
    lastLimitWarning = now;
    options.logger?.warn(
      `credbridge ${name}: ${state.limits.maxConnections} connections open; closing the oldest that are not being answered to admit new ones`,
    );
  };

  // The pair check loads node:crypto and node:tls: only a server that serves HTTPS
  // does, at its first listen (a plain one stays ~15 MiB lighter under load).
  let secureContextProblem: ((secure: SecureContextOptions) => string | undefined) | undefined;
  const usable = (secure: SecureContextOptions): SecureContextOptions => {
    // Before the first listen the check waits for it: listen checks the pair it serves.
    const problem = secureContextProblem?.(secure);
    if (problem !== undefined) {
      throw new CredbridgeError(
        `the ${name} server cannot serve TLS with this key and certificate: ${problem}`,
        {
          code: "ERR_CONFIG",
        },
      );
    }
    return secure;
  };

  /** The `listen` under way: a second one would bind a server the first never closes. */
  let starting: Promise<ServerAddress> | undefined;

  const listen = async (listenOptions: ListenOptions = {}): Promise<ServerAddress> => {
    if (server) {
      throw new CredbridgeError(`the ${name} server is already listening on ${address?.url}`, {
        code: "ERR_CONFIG",
      });
    }
    if (starting) {
      throw new CredbridgeError(`the ${name} server is already starting: await its listen() first`, {
        code: "ERR_CONFIG",
      });
    }
    starting = start(listenOptions);
    try {
      return await starting;
    } finally {
      starting = undefined;
    }
  };

  const start = async (listenOptions: ListenOptions): Promise<ServerAddress> => {
    const limits = resolveLimits(options.limits ?? {});
    if (tls) secureContextProblem ??= (await import("./internal/tls.js")).secureContextProblem;
    await options.beforeListen?.();
    const host = listenOptions.host ?? options.host ?? "127.0.0.1";
    const port = listenOptions.port ?? options.port ?? 0;
    const serverOptions = {
      maxHeaderSize: limits.maxHeaderSize,
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (default 30 s).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
      requireHostHeader: true,
    };
    let s: Server;
    try {
      // node:https (and TLS with it) only for a server that serves HTTPS: +1.4 MiB resident on Node 20.
      s = tls
        ? (await import("node:https")).createServer(
            // Counted from the connection, not reset by traffic: a ClientHello sent a byte at a time is cut too.
            { ...serverOptions, ...usable(tls), handshakeTimeout: limits.handshakeTimeoutMs },
            pipeline,
          )
        : createServer(serverOptions, pipeline);
    } catch (error) {
      afterClose();
      throw error;
    }
    s.timeout = limits.idleTimeoutMs;
    const tracked = trackConnections(s, { maxConnections: limits.maxConnections, onLimit });
    try {
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        // A backlog as deep as the connection limit: a burst of clients starting at once
        // must not overflow it, or their SYNs are dropped and retried a second later.
        s.listen({ host, port, backlog: limits.maxConnections }, () => {
          s.off("error", reject);
          resolve();
        });
      });
    } catch (cause) {
      afterClose();
      throw new CredbridgeError(
        `the ${name} server cannot listen on ${hostLiteral(host)}:${port}: ${(cause as Error).message}` +
          ((cause as { code?: string }).code === "EADDRNOTAVAIL"
            ? " (the address is not on any interface; see the README for adding 169.254.169.254)"
            : ""),
        { code: "ERR_CONFIG", cause },
      );
    }
    s.on("error", (error) => options.logger?.error(`credbridge ${name}: server error: ${error.message}`));
    bound = s.address() as AddressInfo;
    state.limits = limits;
    state.budget = budgetFor(limits);
    state.hostCheck = hostCheckFor(allowedHosts);
    state.draining = false;
    server = s;
    connections = tracked;
    const clientHost =
      bound.address === "0.0.0.0" ? "127.0.0.1" : bound.address === "::" ? "::1" : bound.address;
    const scheme = tls ? "https" : "http";
    const defaultPort = tls ? 443 : 80;
    const base = `${scheme}://${hostLiteral(clientHost)}${bound.port === defaultPort ? "" : `:${bound.port}`}`;
    address = { url: options.url ? options.url(base) : base, host: bound.address, port: bound.port };
    return address;
  };

  const close = (): Promise<void> => {
    if (closing) return closing;
    // Closed while starting: once it has bound (or failed), close what it bound.
    if (starting) return starting.then(close, () => undefined);
    const s = server;
    if (!s) return Promise.resolve();
    state.draining = true;
    closing = new Promise<void>((resolve) => {
      // Stops accepting. Requests in flight, and any that still arrive on an open
      // keep-alive connection, are answered with `Connection: close`, so each
      // connection ends after its current response.
      s.close(() => resolve());
      connections?.cutIdle();
      const force = setTimeout(() => s.closeAllConnections(), state.limits.closeGraceMs);
      force.unref();
      s.once("close", () => clearTimeout(force));
    }).finally(() => {
      server = undefined;
      connections = undefined;
      address = undefined;
      closing = undefined;
      afterClose();
    });
    return closing;
  };

  return {
    listen,
    close,
    get address() {
      return address;
    },
    setSecureContext: (secure) => {
      if (!tls) throw new CredbridgeError(`the ${name} server serves plain HTTP`, { code: "ERR_CONFIG" });
      usable(secure);
      (server as { setSecureContext?: (o: SecureContextOptions) => void } | undefined)?.setSecureContext?.(
        secure,
      );
      tls = secure;
    },
    setAllowedHosts: (hosts) => {
      allowedHosts = hosts;
      if (server) state.hostCheck = hostCheckFor(hosts);
    },
  };
};
