export type { RoleHop } from "./chain-roles.js";
export { chainRoles } from "./chain-roles.js";
// Only the variables the other packages read too; the rest are named in each option's documentation.
export {
  ENV_DEFAULT_REGION,
  ENV_REGION,
  ENV_ROLE_ARN,
  noHomeReason,
  ROLE_CHAINING_MAX_SECONDS,
} from "./env.js";
export type { ErrorClass } from "./error-class.js";
export { ERROR_CLASSES, errorClass } from "./error-class.js";
export type { CredbridgeErrorCode, CredbridgeErrorOptions } from "./errors.js";
export { CredbridgeError, isCredbridgeError } from "./errors.js";
export type {
  AmbientDetection,
  AmbientProvider,
  AmbientSourceKind,
  FromAmbientOptions,
} from "./from-ambient.js";
export { detectAmbientSource, fromAmbient } from "./from-ambient.js";
export type { FromAssumeRoleOptions } from "./from-assume-role.js";
export { fromAssumeRole, validateRoleArn } from "./from-assume-role.js";
export type { FromDefaultChainOptions } from "./from-default-chain.js";
export { fromDefaultChain } from "./from-default-chain.js";
export type { FromPodIdentityOptions } from "./from-pod-identity.js";
export { fromPodIdentity } from "./from-pod-identity.js";
export type { FromWebIdentityOptions } from "./from-web-identity.js";
export { fromWebIdentity } from "./from-web-identity.js";
export type { BackoffOptions } from "./internal/backoff.js";
export { backoffDelay } from "./internal/backoff.js";
export { withDeadline } from "./internal/deadline.js";
export type { ResolvedSts, StsSettings } from "./internal/sts-client.js";
export { resolveStsSettings } from "./internal/sts-client.js";
export { maskAccessKeyId } from "./redact.js";
export type {
  RefreshEvent,
  RefreshingOptions,
  RefreshingProvider,
  RefreshListener,
  RefreshReason,
  RefreshState,
  RefreshStatus,
} from "./refresh/refreshing.js";
export { isRefreshingProvider, refreshing } from "./refresh/refreshing.js";
export type { MarginWindows } from "./refresh/windows.js";
export { DEFAULT_MIN_REMAINING_SECONDS, validateWindows, windowsFor } from "./refresh/windows.js";
export type { Runtime, RuntimeOptions, TimerHandle } from "./runtime.js";
export { resolveRuntime } from "./runtime.js";
export type { SelfAssumeOptions } from "./self-assume.js";
export { roleArnFromAssumedRoleArn, selfAssume } from "./self-assume.js";
export type { WallClockTimerOptions } from "./wall-clock-timer.js";
export { setWallClockTimer, WALL_CLOCK_CHECK_MS } from "./wall-clock-timer.js";
