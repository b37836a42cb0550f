import { checkFileOwner } from "@credbridge/writer";
import type { ParsedFlags } from "./parse.js";
import { UsageError } from "./usage-error.js";

/** The credentials-file flags shared by `serve` and `write`, as writer options. */
export const fileOptions = (flags: ParsedFlags, command: string) => {
  const rawMode = flags["file-mode"] as string | undefined;
  let mode: number | undefined;
  if (rawMode !== undefined) {
    const digits = rawMode.replace(/^0o/i, "");
    if (!/^[0-7]{3,4}$/.test(digits))
      throw new UsageError(`--file-mode must be octal like 0600 or 0640, got "${rawMode}"`, command);
    mode = Number.parseInt(digits, 8);
  }
  const owner = flags["file-owner"] as string | undefined;
  if (owner !== undefined && !/^\d+:\d+$/.test(owner)) {
    throw new UsageError(`--file-owner must be numeric UID:GID like 10000:10000, got "${owner}"`, command);
  }
  return {
    path: flags["credentials-file"] as string | undefined,
    profile: (flags.profile as string | undefined) ?? "default",
    mode,
    owner,
  };
};

/**
 * Refuses, before any STS call, a --file-owner this process can never give
 * files to (not root, no CAP_CHOWN, not that user): otherwise every write
 * fails alike and the sidecar is never ready. `path` is the file named.
 */
export const checkOwnerAtStart = (owner: string | undefined, path: string | undefined): void => {
  if (owner !== undefined) checkFileOwner({ path: path ?? "the credentials file", owner });
};
