export {
  DEFAULT_AGENT_ACCOUNT_ID,
  DEFAULT_AGENT_LIFETIME_SECONDS,
  POD_IDENTITY_CREDENTIALS_PATH,
  startPodIdentityAgent,
} from "./agent/server.js";
export type {
  AgentCall,
  AgentCredentials,
  AgentFaultTimes,
  PodIdentityAgent,
  StartPodIdentityAgentOptions,
} from "./agent/types.js";
export {
  CLI_USAGE,
  DEFAULT_CLI_ROLE_ARN,
  EXAMPLE_BASE_IDENTITY,
  type RunningEmulators,
  startEmulatorsFromArgs,
} from "./cli.js";
export { FaultQueue, type FaultScope } from "./faults.js";
export {
  DEFAULT_TOKEN_AUDIENCE,
  DEFAULT_TOKEN_ISSUER,
  DEFAULT_TOKEN_SUBJECT,
  decodeJwtClaims,
  type JwtClaims,
  MalformedJwtError,
  type MintWebIdentityTokenOptions,
  mintWebIdentityToken,
} from "./jwt.js";
export { type MotoServer, type StartMotoServerOptions, startMotoServer } from "./moto.js";
export type { S3Session, SessionLookup } from "./s3/authenticate.js";
export { S3_ERRORS, S3Error } from "./s3/errors.js";
export { type S3Front, type S3FrontRequest, type StartS3FrontOptions, startS3Front } from "./s3/server.js";
export { STS_ERRORS, StsError } from "./sts/errors.js";
export type { BaseIdentity, CallerIdentity } from "./sts/identity.js";
export type { IssuedCredentials } from "./sts/issue.js";
export { STS_API_VERSION, startStsEmulator } from "./sts/server.js";
export type { RoleTrust } from "./sts/trust.js";
export type {
  StartStsEmulatorOptions,
  StsAction,
  StsCall,
  StsEmulator,
  StsErrorFault,
  StsHangFault,
  StsRawFault,
  StsTrickleFault,
} from "./sts/types.js";
export { STS_XML_NAMESPACE } from "./sts/xml.js";
