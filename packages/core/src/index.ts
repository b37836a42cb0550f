export type { CredbridgeErrorCode, CredbridgeErrorOptions } from "./errors.js";
export { CredbridgeError, isCredbridgeError } from "./errors.js";
export type { BackoffOptions } from "./internal/backoff.js";
export { maskAccessKeyId } from "./redact.js";
export type {
  RefreshEvent,
  RefreshingOptions,
  RefreshingProvider,
  RefreshListener,
  RefreshReason,
  RefreshState,
  RefreshStatus,
} from "./refreshing.js";
export { isRefreshingProvider, refreshing } from "./refreshing.js";
export type { Runtime, RuntimeOptions, TimerHandle } from "./runtime.js";
export { resolveRuntime } from "./runtime.js";
