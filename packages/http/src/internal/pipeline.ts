import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Logger } from "@smithy/types";
import { parseTarget, type Target } from "../target.js";
import { readBody } from "./body.js";
import type { ByteBudget } from "./budget.js";
import type { HostCheck } from "./hosts.js";
import type { ResolvedLimits } from "./limits.js";
import { lingerAfter } from "./linger.js";
import { holdUnsent } from "./unsent.js";

/** What a handler answers. */
export interface Reply {
  status: number;
  /** The route's name, for the observer. */
  route: string;
  /** What the handler made of the request, for the observer (a closed set of the caller's, e.g. a review's outcome). */
  outcome?: string | undefined;
  contentType: string;
  body: string;
  headers?: Record<string, string> | undefined;
  /**
   * The handler answers this very object to many requests (the served
   * credentials): its response headers, `Content-Type` and `Content-Length`
   * included, are built at its first write and kept with it, so each later
   * request writes it without building anything.
   */
  readonly reused?: boolean | undefined;
}

/** The replies the server core gives itself (403, 413, 503…), shaped by the caller's protocol. */
export type ErrorReply = (status: number, route: string, message: string) => Reply;

/** Plain text, for a server that does not shape its own errors. */
export const textErrorReply: ErrorReply = (status, route, message) => ({
  status,
  route,
  contentType: "text/plain; charset=utf-8",
  body: `${message}\n`,
});

const wireHeaders = (reply: Reply): Record<string, string | number> => {
  const headers: Record<string, string | number> = reply.headers ? { ...reply.headers } : {};
  headers["Content-Type"] = reply.contentType;
  headers["Content-Length"] = Buffer.byteLength(reply.body);
  return headers;
};

/**
 * A reply writer for one server: the headers of `reused` replies are built
 * at their first write and kept (weakly) with the reply object, so each later
 * request writes them without building anything.
 */
export const createReplyWriter = () => {
  const built = new WeakMap<Reply, Record<string, string | number>>();
  const headersOf = (reply: Reply): Record<string, string | number> => {
    if (!reply.reused) return wireHeaders(reply);
    let headers = built.get(reply);
    if (headers === undefined) {
      headers = wireHeaders(reply);
      built.set(reply, headers);
    }
    return headers;
  };
  /** Writes `reply` unless something was written already; `close` ends the connection after it. */
  return (res: ServerResponse, reply: Reply, close: boolean): void => {
    if (res.headersSent || res.destroyed) return;
    if (close) res.shouldKeepAlive = false;
    res.writeHead(reply.status, headersOf(reply));
    res.end(reply.body);
  };
};

/** One served request, for metrics. Holds nothing a client chose except the method. */
export interface RequestInfo {
  /** The server's `name`. */
  server: string;
  method: string;
  /** The route's name (e.g. `/latest/meta-data/iam/security-credentials/{role}`), never the raw path. */
  path: string;
  status: number;
  /** The reply's `outcome`, when the handler gave one. */
  outcome?: string | undefined;
  durationMs: number;
}

export type RequestObserver = (info: RequestInfo) => void;

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

export interface PipelineConfig {
  name: string;
  handler: Handler;
  errorReply: ErrorReply;
  readBody: boolean;
  logger: Logger | undefined;
  onRequest: RequestObserver | undefined;
}

/** What the pipeline reads of the server's current state; the server replaces it at `listen` and `close`. */
export interface PipelineState {
  hostCheck: HostCheck;
  limits: ResolvedLimits;
  budget: ByteBudget;
  /** Closing: every answer ends its connection. */
  draining: boolean;
  /** The request on `socket` was received whole and goes to the handler. */
  answering: (res: ServerResponse) => void;
  /** Its answer is written: from now on only the client's reading keeps it open. */
  answered: (res: ServerResponse) => void;
}

const EMPTY = Buffer.alloc(0);
/**
 * How long a refused request's connection reads (and drops) the rest of its
 * body after the answer: time for an honest client to finish its write and
 * read the refusal (3 MiB crosses a 10 Mbit/s link in 2.5 s).
 */
const LINGER_MS = 3_000;
const NOTHING_TO_RELEASE = () => {};
/** More than one `Host` line: RFC 9112 §3.2 answers 400. node:http would keep the first. */
const SEVERAL = Symbol("several Host lines");

const hostOf = (req: IncomingMessage): string | undefined | typeof SEVERAL => {
  const raw = req.rawHeaders;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === "host") {
      if (host !== undefined) return SEVERAL;
      host = raw[i + 1];
    }
  }
  return host;
};

const isThenable = (value: unknown): value is Promise<Reply> =>
  typeof (value as { then?: unknown })?.then === "function";

/**
 * The request pipeline: each check answers before the next runs —
 * `Host` (400 for several, 403 for a name not this server's) → body size (413)
 * → the shared budget (503 with `Retry-After`) → request target (400) →
 * the handler — then one reply writer, the answer held against the budget
 * until the kernel takes it, and the request observer.
 */
export const createPipeline = (config: PipelineConfig, state: PipelineState) => {
  const writeReply = createReplyWriter();
  const observe = (method: string, reply: Reply, startedAt: number): void => {
    if (!config.onRequest) return;
    try {
      config.onRequest({
        server: config.name,
        method,
        path: reply.route,
        status: reply.status,
        outcome: reply.outcome,
        durationMs: performance.now() - startedAt,
      });
    } catch (error) {
      config.logger?.warn(
        `credbridge ${config.name}: the onRequest observer threw: ${(error as Error)?.message}`,
      );
    }
  };

  /**
   * Writes `reply`. A handler's answer the kernel did not take at once is held
   * against the budget (`keep`) until it is: a client that never reads cannot
   * make the server hold answers without bound. The server's own refusals are
   * a few bytes, and end their connection.
   */
  const answer = (
    res: ServerResponse,
    method: string,
    reply: Reply,
    startedAt: number,
    close: boolean,
    keep = false,
  ) => {
    // A refusal may leave the body unread: its connection closes without a reset that would lose it.
    if (close) lingerAfter(res, LINGER_MS);
    const sent = write(res, reply, close || state.draining);
    state.answered(res);
    if (keep) holdUnsent(res, state.budget, state.limits.sendTimeoutMs);
    observe(method, sent, startedAt);
  };

  /**
   * Writes `reply`, or the 500 in its place when node:http refuses it (a status
   * out of range, a header value with a line break, a body that is not a
   * string): a handler's bad reply costs its request, never the server.
   */
  const write = (res: ServerResponse, reply: Reply, close: boolean): Reply => {
    try {
      writeReply(res, reply, close);
      return reply;
    } catch (error) {
      config.logger?.warn(
        `credbridge ${config.name}: the handler's reply could not be written: ${(error as Error)?.message}`,
      );
      const fallback = config.errorReply(500, "error", "internal error");
      // node:http may have taken the head already: then the connection cannot carry another.
      if (res.headersSent) res.destroy();
      else writeReply(res, fallback, close);
      return fallback;
    }
  };

  const refuse = (res: ServerResponse, method: string, status: number, startedAt: number) => {
    const reply =
      status === 503
        ? withHeader(
            config.errorReply(503, "busy", "too many request bodies and answers in flight; retry shortly"),
            "Retry-After",
            "1",
          )
        : config.errorReply(413, "too-large", "request body too large");
    answer(res, method, reply, startedAt, true);
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

  const dispatch = (
    req: IncomingMessage,
    res: ServerResponse,
    startedAt: number,
    body: Buffer,
    release: () => void,
  ): void => {
    const method = req.method ?? "GET";
    const parsed = target(req.url ?? "");
    if (!parsed.ok) {
      release();
      answer(
        res,
        method,
        config.errorReply(400, "invalid-target", `bad request target: ${parsed.reason}`),
        startedAt,
        false,
      );
      return;
    }
    state.answering(res);
    let result: Reply | Promise<Reply>;
    try {
      result = config.handler({ req, method, segments: parsed.segments, path: parsed.path, body });
    } catch (error) {
      result = failed(error);
    }
    if (isThenable(result)) {
      result.then(
        (reply) => {
          release();
          answer(res, method, reply, startedAt, false, true);
        },
        (error: unknown) => {
          release();
          answer(res, method, failed(error), startedAt, false, true);
        },
      );
      return;
    }
    release();
    answer(res, method, result, startedAt, false, true);
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    const startedAt = config.onRequest ? performance.now() : 0;
    const method = req.method ?? "GET";
    const host = hostOf(req);
    if (host === SEVERAL) {
      answer(
        res,
        method,
        config.errorReply(400, "invalid-host", "more than one Host header"),
        startedAt,
        true,
      );
      return;
    }
    if (!state.hostCheck(host)) {
      answer(
        res,
        method,
        config.errorReply(403, "rejected-host", "the Host header does not name this server"),
        startedAt,
        true,
      );
      return;
    }
    const { limits } = state;
    const length = req.headers["content-length"];
    if (length !== undefined && Number(length) > limits.maxBodyBytes) {
      refuse(res, method, 413, startedAt);
      return;
    }
    if (req.headers["transfer-encoding"] === undefined && !config.readBody) {
      dispatch(req, res, startedAt, EMPTY, NOTHING_TO_RELEASE);
      return;
    }
    // A chunked body, or one the handler needs: counted (and held within the
    // budget) before answering, so an endless one cannot be streamed at us.
    readBody(
      req,
      { maxBodyBytes: limits.maxBodyBytes, keep: config.readBody, budget: state.budget },
      (outcome) => {
        if (outcome.ok) {
          dispatch(req, res, startedAt, outcome.body, outcome.release);
          return;
        }
        // With `Connection: close`: node:http ends the connection once the answer is out
        // (destroying it at once could cut a TLS answer short), and the rest of the body
        // is never read.
        refuse(res, method, outcome.status, startedAt);
      },
    );
  };
};

const withHeader = (reply: Reply, name: string, value: string): Reply => ({
  ...reply,
  headers: { ...reply.headers, [name]: value },
});
