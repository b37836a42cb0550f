import { CredentialsFileError } from "../errors.js";

const HINTS: Record<string, string> = {
  ENOSPC: "the file system is full; free space on the volume",
  EDQUOT: "the disk quota is exhausted; free space or raise the quota",
  EROFS: "the file system is read-only; mount the volume read-write in the writer's container",
  EACCES: "permission denied; the writer's user needs write and search permission on the directory",
  EPERM: "operation not permitted; check the directory's owner, mode and any immutable attribute",
  ENOTDIR: "a component of the path is not a directory",
  ELOOP: "too many symbolic links in the path",
  EIO: "an I/O error from the device",
  ENXIO: "a socket or a device is in the way; remove it",
  EBUSY: "the file is busy (a mount point? mount the directory, not the file)",
  ENAMETOOLONG: "the path is too long",
};

const systemCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

/**
 * A system error's own words without its code and path: Node's message names
 * the path it was given, which for the writer is a /proc/self/fd one that
 * means nothing to whoever reads the error.
 */
const plainWords = (error: unknown, code: string | undefined): string => {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^[A-Z]+: /, "").replace(/, \w+ '[^']*'( -> '[^']*')?$/, "") || (code ?? "error");
};

/** A system error during an update, as a CredentialsFileError naming the path, the cause and the fix. */
export const writeError = (path: string, action: string, error: unknown): CredentialsFileError => {
  const code = systemCode(error);
  const hint = (code && HINTS[code]) ?? plainWords(error, code);
  return new CredentialsFileError(
    `credbridge: could not update ${path} (${action}): ${code ? `${code}, ` : ""}${hint}. The previous file is unchanged.`,
    { code: "ERR_WRITE", path, syscallCode: code, cause: error },
  );
};

/** Runs `fn`, ignoring the system errors whose codes are listed: the outcomes a race with another writer may leave. */
const ignoring = (codes: string[], fn: () => void): void => {
  try {
    fn();
  } catch (error) {
    if (!codes.includes(systemCode(error) ?? "")) throw error;
  }
};

export { ignoring, systemCode };
