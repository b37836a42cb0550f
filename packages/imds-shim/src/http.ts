/**
 * The hardened HTTP core both credentials servers are built on (Host check,
 * size limits, timeouts, graceful close; optionally HTTPS with a replaceable
 * certificate), for other credbridge servers such as `credbridge webhook`.
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
  ServerAddress,
} from "./internal/http.js";
export { createHttpServer } from "./internal/http.js";
