import { type OpenedDirectory, openDirectory as openPath } from "@credbridge/core/files";
import { CredentialsFileError } from "../errors.js";
import type { FileOwner, WriterFs } from "../file-options.js";
import { writeError } from "./fs-error.js";

/** The target's directory, open (see core's `openDirectory`). */
export type TargetDirectory = OpenedDirectory;

export interface OpenDirectoryOptions {
  /** The file the directory is for, named in messages. */
  target: string;
  /** Create missing directories with this mode (the umask applies), given to `owner` when set. */
  create?: { mode: number; owner: FileOwner | undefined } | undefined;
}

/**
 * Opens the directory of the file to write without following a symbolic link
 * that anyone but root and the writer's own user could have planted or could
 * change (core's `openDirectory`), in the writer's words: ERR_SYMLINK for such
 * a link, ERR_WRITE naming the real path (never a /proc/self/fd one) for the rest.
 */
export const openDirectory = (
  fs: WriterFs,
  dirPath: string,
  options: OpenDirectoryOptions,
): TargetDirectory | undefined =>
  openPath(fs, dirPath, {
    create: options.create,
    errors: {
      failed: (action, error) => writeError(options.target, action, error),
      refused: (kind, where, why) =>
        new CredentialsFileError(
          kind === "link"
            ? `credbridge: refusing to write ${options.target}: ${where} ${why}. ` +
                "The writer follows links in the path only where nobody but root and its own user can change them. Point it at the real directory."
            : `credbridge: refusing to write ${options.target}: ${where} ${why}. Give the file a directory only the writer's user (or root) can change.`,
          { code: kind === "link" ? "ERR_SYMLINK" : "ERR_WRITE", path: options.target },
        ),
    },
  });
