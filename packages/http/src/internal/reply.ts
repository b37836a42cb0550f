import type { ServerResponse } from "node:http";

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
   * The response headers as written, `Content-Type` and `Content-Length`
   * included: set by `prepareReply` on a reply sent many times (the served
   * credentials), so each request writes it without building anything.
   */
  readonly wireHeaders?: Readonly<Record<string, string | number>> | undefined;
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

/** The reply with its headers built once, for a reply answered to many requests. */
export const prepareReply = (reply: Reply): Reply => ({ ...reply, wireHeaders: wireHeaders(reply) });

/** Writes `reply` unless something was written already; `close` ends the connection after it. */
export const writeReply = (res: ServerResponse, reply: Reply, close: boolean): void => {
  if (res.headersSent || res.destroyed) return;
  if (close) res.shouldKeepAlive = false;
  res.writeHead(reply.status, reply.wireHeaders ?? wireHeaders(reply));
  res.end(reply.body);
};
