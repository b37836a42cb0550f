import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { SecureContextOptions } from "node:tls";
import { CredbridgeError } from "@credbridge/core";
import { hostLiteral } from "@credbridge/core/wire";
import type { Logger } from "@smithy/types";
import { createHostCheck, type HostCheck } from "./internal/hosts.js";
import { parseTarget, type Target } from "./target.js";

/** Where to listen; each field overrides the server's option of the same name. */
export interface ListenOptions {
  host?: string | undefined;
  port?: number | undefined;
}

/** The address a server listens on. */
export interface ServerAddress {
  /** The URL a client is configured with (see each server for exactly which). */
  url: string;
  /** The bound address, e.g. `127.0.0.1` or `::1`. */
  host: string;
  port: number;
}

/** Resource limits and timeouts; the defaults suit clients that give up after 1–2 s. */
export interface HttpLimits {
  /** Largest request head (request line and headers) in bytes; beyond it Node answers 431. Default 8192. */
  maxHeaderSize?: number | undefined;
  /** Largest request body in bytes; these protocols send none. Beyond it: 413. Default 1024. */
  maxBodyBytes?: number | undefined;
  /** A client must send its whole request head within this. Default 5000 ms. */
  headersTimeoutMs?: number | undefined;
  /** A client must send its whole request within this. Default 10 000 ms. */
  requestTimeoutMs?: number | undefined;
  /** A socket with no traffic for this long is closed. Default 10 000 ms. */
  idleTimeoutMs?: number | undefined;
  /** How long an idle keep-alive connection is kept. Default 5000 ms. */
  keepAliveTimeoutMs?: number | undefined;
  /** Connections beyond this are refused. Default 1024. */
  maxConnections?: number | undefined;
  /** On `close()`, in-flight requests get this long to finish before their connections are cut. Default 5000 ms. */
  closeGraceMs?: number | undefined;
}

/** One served request, for metrics. Holds nothing a client chose except the method. */
export interface RequestInfo {
  /** The server's `name`. */
  server: string;
  method: string;
  /** The route's name (e.g. `/latest/meta-data/iam/security-credentials/{role}`), never the raw path. */
  path: string;
  status: number;
  durationMs: number;
}

export type RequestObserver = (info: RequestInfo) => void;

/** What a handler answers. */
export interface Reply {
  status: number;
  /** The route's name, for the observer. */
  route: string;
  contentType: string;
  body: string;
  headers?: Record<string, string> | undefined;
  /**
   * The response headers as written, `Content-Type` and `Content-Length`
   * included: set by `prepareReply` on a reply sent many times (the served
   * credentials), so each request writes it without building anything.
   */
  readonly wireHeaders?: Readonly<Record<string, string | number>> | undefined;
}

const wireHeaders = (reply: Reply): Record<string, string | number> => {
  const headers: Record<string, string | number> = reply.headers ? { ...reply.headers } : {};
  headers["Content-Type"] = reply.contentType;
  headers["Content-Length"] = Buffer.byteLength(reply.body);
  return headers;
};

/** The reply with its headers built once, for a reply answered to many requests. */
export const prepareReply = (reply: Reply): Reply => ({ ...reply, wireHeaders: wireHeaders(reply) });

export interface RequestContext {
  req: IncomingMessage;
  method: string;
  /** Decoded, validated path segments. */
  segments: readonly string[];
  /** `/` + segments joined: the normalized path, without the trailing slash. */
  path: string;
  /** The request body, read whole (within `maxBodyBytes`) when the server asked for it; empty otherwise. */
  body: Buffer;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

/** The replies the server core gives itself, shaped by each protocol (XHTML for IMDS, JSON for containers). */
export type ErrorReply = (status: number, route: string, message: string) => Reply;

export interface HttpServerConfig {
  /** Names the server in logs, errors and `RequestInfo`. */
  name: string;
  host: string;
  port: number;
  limits: HttpLimits;
  wellKnownHosts: readonly string[];
  allowedHosts: readonly string[];
  handler: Handler;
  errorReply: ErrorReply;
  logger: Logger | undefined;
  onRequest: RequestObserver | undefined;
  /** Turns the bound address into the client-facing URL. */
  url: (base: string) => string;
  /** Validates configuration and starts dependencies; a rejection aborts `listen`. */
  beforeListen: () => void | Promise<void>;
  /** Stops dependencies once the server is closed. */
  afterClose: () => void;
  /** Serve HTTPS with this key and certificate (replaced later with `setSecureContext`); plain HTTP without. */
  tls?: SecureContextOptions | undefined;
  /** Read each request's body before the handler runs (bounded by `maxBodyBytes`), into `ctx.body`. */
  readBody?: boolean | undefined;
}

export interface HttpServerHandle {
  listen(options?: ListenOptions): Promise<ServerAddress>;
  close(): Promise<void>;
  readonly address: ServerAddress | undefined;
  /** Replaces the key and certificate of an HTTPS server for new connections (a rotated certificate). */
  setSecureContext(options: SecureContextOptions): void;
  /** Replaces the `allowedHosts` the `Host` check accepts from now on. */
  setAllowedHosts(hosts: readonly string[]): void;
}

const DEFAULTS = {
  maxHeaderSize: 8192,
  maxBodyBytes: 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  closeGraceMs: 5_000,
} as const;

const positive = (name: string, value: number | undefined, fallback: number): number => {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) {
    throw new CredbridgeError(`${name} must be a positive integer, got ${value}`, { code: "ERR_CONFIG" });
  }
  return v;
};

export const resolveLimits = (limits: HttpLimits): Required<{ [K in keyof HttpLimits]: number }> => ({
  maxHeaderSize: positive("maxHeaderSize", limits.maxHeaderSize, DEFAULTS.maxHeaderSize),
  maxBodyBytes: positive("maxBodyBytes", limits.maxBodyBytes, DEFAULTS.maxBodyBytes),
  headersTimeoutMs: positive("headersTimeoutMs", limits.headersTimeoutMs, DEFAULTS.headersTimeoutMs),
  requestTimeoutMs: positive("requestTimeoutMs", limits.requestTimeoutMs, DEFAULTS.requestTimeoutMs),
  idleTimeoutMs: positive("idleTimeoutMs", limits.idleTimeoutMs, DEFAULTS.idleTimeoutMs),
  keepAliveTimeoutMs: positive("keepAliveTimeoutMs", limits.keepAliveTimeoutMs, DEFAULTS.keepAliveTimeoutMs),
  maxConnections: positive("maxConnections", limits.maxConnections, DEFAULTS.maxConnections),
  closeGraceMs: positive("closeGraceMs", limits.closeGraceMs, DEFAULTS.closeGraceMs),
});

const EMPTY = Buffer.alloc(0);

/**
 * Whether a connection carries a response not yet finished: node:http points
 * `socket._httpMessage` at the response from its creation until it is finished
 * (and checks it so in its own `closeIdleConnections`). Read there rather than
 * tracked with a listener per request, which cost ~3 % of a request's CPU.
 * `socket` is the one node:http reads requests from: for HTTPS, the TLS socket.
 */
const answering = (socket: Socket): boolean => (socket as { _httpMessage?: unknown })._httpMessage != null;

/** The TCP connection a TLS socket was accepted on (node:tls keeps it as `_parent`). */
const acceptedSocketOf = (tlsSocket: Socket): Socket | undefined =>
  (tlsSocket as { _parent?: Socket | null })._parent ?? undefined;

const isThenable = (value: unknown): value is Promise<Reply> =>
  typeof (value as { then?: unknown })?.then === "function";

/**
 * The shared HTTP core of both servers: limits and timeouts, the `Host` check,
 * strict path parsing, body bounds, one reply writer, the request observer,
 * and a graceful close. Creating it does nothing; `listen` binds.
 *
 * Checks run in this order, each answering before the next runs:
 * `Host` (403) → body size (413) → request target (400) → the protocol's handler.
 */
export const createHttpServer = (config: HttpServerConfig): HttpServerHandle => {
  let server: Server | undefined;
  let address: ServerAddress | undefined;
  let hostCheck: HostCheck = () => false;
  let allowedHosts = config.allowedHosts;
  let bindHostCheck: ((hosts: readonly string[]) => HostCheck) | undefined;
  let tls = config.tls;
  let closing: Promise<void> | undefined;
  // Every accepted TCP connection; for HTTPS, each one's TLS socket, which node:http reads requests from.
  const sockets = new Set<Socket>();
  const httpSocketOf = new WeakMap<Socket, Socket>();
  let draining = false;
  let limits = resolveLimits({});

  const observe = (method: string, reply: Reply, startedAt: number): void => {
    if (!config.onRequest) return;
    try {
      config.onRequest({
        server: config.name,
        method,
        path: reply.route,
        status: reply.status,
        durationMs: performance.now() - startedAt,
      });
    } catch (error) {
      config.logger?.warn(
        `credbridge ${config.name}: the onRequest observer threw: ${(error as Error)?.message}`,
      );
    }
  };

  const write = (res: ServerResponse, reply: Reply, close: boolean): void => {
    if (res.headersSent || res.destroyed) return;
    if (close || draining) res.shouldKeepAlive = false;
    res.writeHead(reply.status, reply.wireHeaders ?? wireHeaders(reply));
    res.end(reply.body);
  };

  const failed = (error: unknown): Reply => {
    config.logger?.warn(`credbridge ${config.name}: request handler failed: ${(error as Error)?.message}`);
    return config.errorReply(500, "error", "internal error");
  };

  // Clients ask for the same few paths over and over: remember their parses (bounded).
  const targets = new Map<string, Target>();
  const target = (raw: string): Target => {
    let t = targets.get(raw);
    if (t === undefined) {
      t = parseTarget(raw);
      if (targets.size >= 256) targets.clear();
      targets.set(raw, t);
    }
    return t;
  };

  const dispatch = (req: IncomingMessage, res: ServerResponse, startedAt: number, body: Buffer): void => {
    const method = req.method ?? "GET";
    const parsed = target(req.url ?? "");
    if (!parsed.ok) {
      const reply = config.errorReply(400, "invalid-target", `bad request target: ${parsed.reason}`);
      write(res, reply, false);
      observe(method, reply, startedAt);
      return;
    }
    let result: Reply | Promise<Reply>;
    try {
      result = config.handler({ req, method, segments: parsed.segments, path: parsed.path, body });
    } catch (error) {
      result = failed(error);
    }
    if (isThenable(result)) {
      result.then(
        (reply) => {
          write(res, reply, false);
          observe(method, reply, startedAt);
        },
        (error: unknown) => {
          const reply = failed(error);
          write(res, reply, false);
          observe(method, reply, startedAt);
        },
      );
      return;
    }
    write(res, result, false);
    observe(method, result, startedAt);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const startedAt = config.onRequest ? performance.now() : 0;
    const method = req.method ?? "GET";
    if (!hostCheck(req.headers.host)) {
      const reply = config.errorReply(403, "rejected-host", "the Host header does not name this server");
      write(res, reply, true);
      observe(method, reply, startedAt);
      return;
    }
    const length = req.headers["content-length"];
    if (length !== undefined && Number(length) > limits.maxBodyBytes) {
      const reply = config.errorReply(413, "too-large", "request body too large");
      write(res, reply, true);
      observe(method, reply, startedAt);
      return;
    }
    if (req.headers["transfer-encoding"] === undefined && !config.readBody) {
      dispatch(req, res, startedAt, EMPTY);
      return;
    }
    // A chunked body, or one the handler needs: count it before answering so an
    // endless one cannot be streamed at us.
    let received = 0;
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (config.readBody && received <= limits.maxBodyBytes) chunks.push(chunk);
      if (received > limits.maxBodyBytes) {
        req.off("data", onData);
        req.pause();
        const reply = config.errorReply(413, "too-large", "request body too large");
        write(res, reply, true);
        observe(method, reply, startedAt);
        res.once("finish", () => req.socket.destroy());
      }
    };
    req.on("data", onData);
    req.once("end", () => {
      if (received <= limits.maxBodyBytes) dispatch(req, res, startedAt, Buffer.concat(chunks));
    });
  };

  const listen = async (options: ListenOptions = {}): Promise<ServerAddress> => {
    if (server) {
      throw new CredbridgeError(`the ${config.name} server is already listening on ${address?.url}`, {
        code: "ERR_CONFIG",
      });
    }
    limits = resolveLimits(config.limits);
    await config.beforeListen();
    const host = options.host ?? config.host;
    const port = options.port ?? config.port;
    const serverOptions = {
      maxHeaderSize: limits.maxHeaderSize,
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (default 30 s).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
      requireHostHeader: true,
    };
    // node:https (and TLS with it) only for a server that serves HTTPS: +1.4 MiB resident on Node 20.
    const s: Server = tls
      ? (await import("node:https")).createServer({ ...serverOptions, ...tls }, onRequest)
      : createServer(serverOptions, onRequest);
    s.timeout = limits.idleTimeoutMs;
    s.maxConnections = limits.maxConnections;
    // On close, every connection not carrying a request being answered (idle, or
    // still sending its head) is cut at once instead of holding shutdown.
    s.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
    if (tls) {
      s.on("secureConnection", (tlsSocket: Socket) => {
        const accepted = acceptedSocketOf(tlsSocket);
        if (accepted) httpSocketOf.set(accepted, tlsSocket);
      });
    }
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
      config.afterClose();
      throw new CredbridgeError(
        `the ${config.name} server cannot listen on ${hostLiteral(host)}:${port}: ${(cause as Error).message}` +
          ((cause as { code?: string }).code === "EADDRNOTAVAIL"
            ? " (the address is not on any interface; see the README for adding 169.254.169.254)"
            : ""),
        { code: "ERR_CONFIG", cause },
      );
    }
    s.on("error", (error) =>
      config.logger?.error(`credbridge ${config.name}: server error: ${error.message}`),
    );
    const bound = s.address() as AddressInfo;
    bindHostCheck = (allowedHosts) =>
      createHostCheck({
        boundAddress: bound.address,
        port: bound.port,
        wellKnown: config.wellKnownHosts,
        allowedHosts,
      });
    hostCheck = bindHostCheck(allowedHosts);
    const clientHost =
      bound.address === "0.0.0.0" ? "127.0.0.1" : bound.address === "::" ? "::1" : bound.address;
    server = s;
    draining = false;
    address = {
      url: config.url(
        tls
          ? `https://${hostLiteral(clientHost)}${bound.port === 443 ? "" : `:${bound.port}`}`
          : `http://${hostLiteral(clientHost)}${bound.port === 80 ? "" : `:${bound.port}`}`,
      ),
      host: bound.address,
      port: bound.port,
    };
    return address;
  };

  const close = (): Promise<void> => {
    if (closing) return closing;
    const s = server;
    if (!s) return Promise.resolve();
    draining = true;
    closing = new Promise<void>((resolve) => {
      // Stops accepting. Requests in flight, and any that still arrive on an open
      // keep-alive connection, are answered with `Connection: close` (see `write`),
      // so each connection ends after its current response.
      s.close(() => resolve());
      s.closeIdleConnections();
      // An HTTPS connection still in its handshake has no TLS socket yet: cut too.
      for (const socket of sockets) if (!answering(httpSocketOf.get(socket) ?? socket)) socket.destroy();
      const force = setTimeout(() => s.closeAllConnections(), limits.closeGraceMs);
      force.unref();
      s.once("close", () => clearTimeout(force));
    }).finally(() => {
      server = undefined;
      address = undefined;
      closing = undefined;
      config.afterClose();
    });
    return closing;
  };

  return {
    listen,
    close,
    get address() {
      return address;
    },
    setSecureContext: (options) => {
      if (!tls) {
        throw new CredbridgeError(`the ${config.name} server serves plain HTTP`, { code: "ERR_CONFIG" });
      }
      (server as { setSecureContext?: (o: SecureContextOptions) => void } | undefined)?.setSecureContext?.(
        options,
      );
      tls = options;
    },
    setAllowedHosts: (hosts) => {
      allowedHosts = hosts;
      if (bindHostCheck) hostCheck = bindHostCheck(hosts);
    },
  };
};
