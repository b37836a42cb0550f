export { COMMANDS, envNameOf } from "./args/flags.js";
export type { ParsedCommand, ParsedFlags } from "./args/parse.js";
export { parseCommandLine } from "./args/parse.js";
export { UsageError } from "./args/usage-error.js";
export type { MainIo } from "./main.js";
export { main } from "./main.js";
export type { PolicyDocument } from "./trust/policies.js";
export { irsaTrustPolicy, podIdentityTrustPolicy } from "./trust/policies.js";
