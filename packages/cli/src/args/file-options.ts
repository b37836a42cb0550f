import { checkFileOwner } from "@credbridge/writer";
import type { ParsedFlags } from "./parse.js";

/** The credentials-file flags shared by `serve` and `write`, as writer options. */
export const fileOptions = (flags: ParsedFlags) => {
  // Both checked as parsed (fileModeProblem, fileOwnerProblem), naming the flag or its variable.
  const rawMode = flags["file-mode"] as string | undefined;
  const mode = rawMode === undefined ? undefined : Number.parseInt(rawMode.replace(/^0o/i, ""), 8);
  const owner = flags["file-owner"] as string | undefined;
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
