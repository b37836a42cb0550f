export { COMMANDS, envNameOf } from "./args/flags.js";
export type { ParsedCommand, ParsedFlags } from "./args/parse.js";
export { parseCommandLine } from "./args/parse.js";
export { UsageError } from "./args/usage-error.js";
export { IMAGE_REPOSITORY } from "./commands/webhook.js";
export { failIfUnfinished } from "./exit-guard.js";
export type { MainIo } from "./main.js";
export { main } from "./main.js";
export type { PolicyDocument } from "./policies/document.js";
export type { PermissionPolicyOptions } from "./policies/permission.js";
export { permissionPolicy, REGISTRY_BUCKET_ACTIONS, REGISTRY_OBJECT_ACTIONS } from "./policies/permission.js";
export { irsaTrustPolicy, podIdentityTrustPolicy } from "./policies/trust.js";
export type { InjectConfig, Output } from "./webhook/annotations.js";
export {
  ANNOTATIONS,
  AnnotationError,
  INJECTED,
  MAX_CONTAINERS,
  OUTPUTS,
  parseInjectConfig,
} from "./webhook/annotations.js";
export type { InjectDefaults } from "./webhook/inject.js";
export { ADDRESS_INIT_NAME, injectPod, SIDECAR_NAME, VOLUME_NAME } from "./webhook/inject.js";
export type { PatchOperation } from "./webhook/json-patch.js";
export type { Mutation } from "./webhook/mutate.js";
export { MAX_DENIAL_CHARS, mutatePod } from "./webhook/mutate.js";
export type { Container, Pod } from "./webhook/pod.js";
export type { ReviewAnswer } from "./webhook/review.js";
export { answerReview } from "./webhook/review.js";
export type { WebhookServerOptions } from "./webhook/server.js";
export { createWebhookServer } from "./webhook/server.js";
