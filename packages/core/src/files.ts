/**
 * `@credbridge/core/files`: opening paths and reading secret files the way
 * every credbridge package does, for the writer, the CLI and the servers:
 * directories opened one component at a time without following a symbolic
 * link another user could have planted, files trusted only when they belong
 * to the right user and nobody else may write them, and reads bounded by the
 * bytes actually read. Not needed to use the providers.
 */

export { FileTooLargeError, readBounded, readBoundedFd, readBoundedSync } from "./files/bounded-read.js";
export type { DirectoryFs, DirHandle } from "./files/dir-handle.js";
export { DIRECTORY_FLAGS, openChild, openRoot } from "./files/dir-handle.js";
export type { OpenDirectoryErrors, OpenDirectoryOptions, OpenedDirectory } from "./files/open-directory.js";
export { openDirectory } from "./files/open-directory.js";
export { modeString, othersMayWrite, untrustedFile, untrustedLink } from "./files/trust.js";
export type { TrustedFileOptions } from "./files/trusted-file.js";
export {
  describeFileError,
  openTrustedFile,
  readTrustedFile,
  readTrustedFileSync,
  UntrustedFileError,
} from "./files/trusted-file.js";
