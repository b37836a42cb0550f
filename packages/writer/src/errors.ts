const BRAND = Symbol.for("credbridge.credentials-file-error");

/** Stable codes for failures to update a shared credentials or config file. */
export type CredentialsFileErrorCode =
  /** Reading, writing, syncing or renaming failed (ENOSPC, EACCES, EROFS, EIO...); the old file is intact. */
  | "ERR_WRITE"
  /** The file lock could not be taken in time, or was lost before the rename. */
  | "ERR_LOCKED"
  /** The target path is a symbolic link, which is refused rather than written through. */
  | "ERR_SYMLINK"
  /** The target path exists but is not a regular file (a directory, FIFO, socket or device). */
  | "ERR_NOT_REGULAR_FILE"
  /**
   * The file there belongs to a user other than the writer's own and the
   * `owner` it is written for (a third user could have put it there), or is
   * the writer's own and `owner` may not read it: rewriting it would hand the
   * credentials, or its other content, to someone it is not meant for.
   */
  | "ERR_FILE_OWNER"
  /**
   * The file cannot be given to its `owner`: this process is not that user and
   * may not chown (not root, or root without CAP_CHOWN).
   */
  | "ERR_CHOWN"
  /**
   * Another user replaced the temporary file or the file itself during the
   * write: what is at the path is not what this writer wrote, so it does not
   * report success.
   */
  | "ERR_TAMPERED"
  /** The operation's signal aborted (SIGTERM) while it waited for the lock; the file is unchanged. */
  | "ERR_ABORTED";

export interface CredentialsFileErrorOptions {
  code: CredentialsFileErrorCode;
  /** The file the operation was about. */
  path: string;
  /** The system error code behind the failure (ENOSPC, EROFS, ...), when there is one. */
  syscallCode?: string | undefined;
  cause?: unknown;
}

/**
 * A failure to update a credentials or config file. Whenever it is raised the
 * file on disk is the one that was there before, complete. The message names
 * the path and what to fix, and never a secret.
 */
export class CredentialsFileError extends Error {
  override name = "CredentialsFileError";
  readonly code: CredentialsFileErrorCode;
  readonly path: string;
  readonly syscallCode: string | undefined;
  readonly [BRAND] = true;

  constructor(message: string, options: CredentialsFileErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.path = options.path;
    this.syscallCode = options.syscallCode;
    Object.setPrototypeOf(this, CredentialsFileError.prototype);
  }
}

/** True for a {@link CredentialsFileError}, across copies of this package. */
export const isCredentialsFileError = (value: unknown): value is CredentialsFileError =>
  typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
