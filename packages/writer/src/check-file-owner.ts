import { CredentialsFileError } from "./errors.js";
import type { FileOwner } from "./file-options.js";
import { type ProcessIdentity, processIdentity } from "./internal/chown-identity.js";
import { chownRefusal, chownRefusalMessage } from "./internal/chown-refusal.js";
import { parseOwner } from "./internal/validate.js";

export interface CheckFileOwnerOptions {
  /** The file to be written for `owner`: named in the error. */
  path: string;
  /** `"uid:gid"` or `{ uid, gid }`, as the writer's `owner` option. */
  owner: FileOwner | string;
  /** Who this process is. Default: read from the kernel (ids, groups, CAP_CHOWN). */
  identity?: ProcessIdentity | undefined;
}

/**
 * Throws ERR_CHOWN, naming the cause and the fixes, when this process could
 * never give the file to `owner`: every write would fail the same way. A
 * sidecar calls it at start, before its first credentials are fetched, rather
 * than becoming a pod that is never ready.
 */
export const checkFileOwner = (options: CheckFileOwnerOptions): void => {
  const owner = parseOwner(options.owner)!;
  const reason = chownRefusal(owner, options.identity ?? processIdentity());
  if (reason === undefined) return;
  throw new CredentialsFileError(chownRefusalMessage(options.path, owner, reason), {
    code: "ERR_CHOWN",
    path: options.path,
  });
};

export type { ProcessIdentity };
