export type {
  HttpLimits,
  ListenOptions,
  RequestInfo,
  RequestObserver,
  ServerAddress,
} from "@credbridge/http";
export type {
  ContainerCredentialsServer,
  ContainerCredentialsServerOptions,
} from "./container/server.js";
export {
  CONTAINER_WELL_KNOWN_HOSTS,
  createContainerCredentialsServer,
  DEFAULT_CONTAINER_CREDENTIALS_PATH,
} from "./container/server.js";
export { DEFAULT_ROLE_NAME } from "./imds/routes.js";
export type { ImdsServer, ImdsServerOptions } from "./imds/server.js";
export { createImdsServer, DEFAULT_HOST, DEFAULT_REGION, IMDS_WELL_KNOWN_HOSTS } from "./imds/server.js";
export {
  MAX_TOKEN_TTL_SECONDS,
  MIN_TOKEN_TTL_SECONDS,
  TOKEN_HEADER,
  TOKEN_TTL_HEADER,
} from "./imds/tokens.js";
export type {
  CredentialsServer,
  ServedCredentialsOptions,
  ServerOptions,
} from "./internal/credentials.js";
export {
  DEFAULT_ADVISORY_WINDOW_SECONDS,
  DEFAULT_MANDATORY_WINDOW_SECONDS,
  DEFAULT_MIN_REMAINING_SECONDS,
  STATIC_CREDENTIALS_LIFETIME_SECONDS,
} from "./internal/credentials.js";
