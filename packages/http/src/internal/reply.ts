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
