import { checkFileOwner } from "@credbridge/writer";
import type { FileFlags } from "./flags.js";

/** The credentials-file flags shared by `serve` and `write`, as writer options. */
export const fileOptions = (flags: FileFlags) => {
  // Both checked as parsed (fileModeProblem, fileOwnerProblem), naming the flag or its variable.
  const rawMode = flags["file-mode"];
  const mode = rawMode === undefined ? undefined : Number.parseInt(rawMode.replace(/^0o/i, ""), 8);
  const owner = flags["file-owner"];
  return {
    path: flags["credentials-file"],
    profile: flags.profile ?? "default",
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
