import type { FileKind } from "./resolve-path.js";

/**
 * The section header a profile lives under: `[NAME]` in the credentials file;
 * `[default]` and `[profile NAME]` in the config file, as botocore, v3 and
 * aws-sdk-go read it.
 */
export const sectionFor = (kind: FileKind, profile: string): string =>
  kind === "config" && profile !== "default" ? `profile ${profile}` : profile;
