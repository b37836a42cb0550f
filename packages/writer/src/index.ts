export type { CheckFileOwnerOptions, ProcessIdentity } from "./check-file-owner.js";
export { checkFileOwner } from "./check-file-owner.js";
export type { CredentialsFileErrorCode, CredentialsFileErrorOptions } from "./errors.js";
export { CredentialsFileError, isCredentialsFileError } from "./errors.js";
export type { FileLockOptions, FileOwner, SharedFileOptions, WriteResult, WriterFs } from "./file-options.js";
export { ENV_CONFIG_FILE, ENV_SHARED_CREDENTIALS_FILE } from "./internal/resolve-path.js";
export { startRefresher } from "./refresher.js";
export type {
  ProfileWriteStatus,
  RefresherEvent,
  RefresherHandle,
  RefresherStatus,
  RefresherStopOptions,
  RefresherStopResult,
  StartRefresherOptions,
} from "./refresher-types.js";
export type { RemoveProfileOptions } from "./remove-profile.js";
export { removeProfile, removeProfiles } from "./remove-profile.js";
export type { ProfileSettings, WriteConfigOptions } from "./write-config.js";
export { writeConfig } from "./write-config.js";
export type { ProfileCredentials, WriteCredentialsOptions } from "./write-credentials.js";
export { EXPIRATION_KEY, writeCredentials, writeProfiles } from "./write-credentials.js";
