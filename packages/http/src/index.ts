/**
 * @credbridge/http: the hardened HTTP core credbridge's servers are built on.
 * One factory, `createHttpServer`; the rest are its types and the strict
 * request-target parser its callers share.
 */

export type { HttpLimits } from "./internal/limits.js";
export type {
  ErrorReply,
  Handler,
  Reply,
  RequestContext,
  RequestInfo,
  RequestObserver,
} from "./internal/pipeline.js";
export type { HttpServer, HttpServerOptions, ListenOptions, ServerAddress } from "./server.js";
export { createHttpServer } from "./server.js";
export type { Target } from "./target.js";
export { hasControlCharacter, parseTarget } from "./target.js";
