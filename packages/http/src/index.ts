/**
 * The hardened HTTP core credbridge's servers are built on (Host check,
 * size limits, timeouts, graceful close; optionally HTTPS with a replaceable
 * certificate).
 */
export type {
  ErrorReply,
  Handler,
  HttpLimits,
  HttpServerConfig,
  HttpServerHandle,
  ListenOptions,
  Reply,
  RequestContext,
  RequestInfo,
  RequestObserver,
  ServerAddress,
} from "./server.js";
export { createHttpServer, prepareReply } from "./server.js";
export type { Target } from "./target.js";
export { hasControlCharacter, parseTarget } from "./target.js";
