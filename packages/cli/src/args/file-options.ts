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
