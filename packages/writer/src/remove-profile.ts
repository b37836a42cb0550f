import type { SharedFileOptions, WriteResult } from "./file-options.js";
import { updateFile } from "./internal/atomic-write.js";
import { resolveFileRequest } from "./internal/file-request.js";
import { readSections, removeSection } from "./internal/ini-merge.js";
import type { FileKind } from "./internal/resolve-path.js";
import { sectionFor } from "./internal/section-name.js";
import { EXPIRATION_KEY } from "./write-credentials.js";

export interface RemoveProfileOptions extends Omit<SharedFileOptions, "profile"> {
  /** Which file: the shared credentials file (default) or the config file (`[profile NAME]` sections). */
  file?: FileKind | undefined;
  /**
   * Remove a section only when the credentials it records (its
   * `x_security_token_expires`) expired at or before this moment (ms since
   * the epoch): newer ones another writer put there meanwhile are kept.
   */
  expiredBy?: number | undefined;
}

/**
 * Removes a profile's section, for a clean shutdown that leaves no credentials
 * behind, through the same locked atomic path as the writes. Every other
 * profile is kept as it was. A missing file or profile is not an error:
 * `changed` is false and nothing is created.
 */
export const removeProfile = async (
  profile: string,
  options: RemoveProfileOptions = {},
): Promise<WriteResult> => (await removeProfiles([profile], options))[0]!;

/** {@link removeProfile} for several profiles, in one locked atomic write. */
export const removeProfiles = async (
  profiles: readonly string[],
  options: RemoveProfileOptions = {},
): Promise<WriteResult[]> => {
  const kind = options.file ?? "credentials";
  const reqs = profiles.map((profile) => resolveFileRequest(kind, { ...options, profile }));
  const req = reqs[0];
  if (req === undefined) return [];
  const changed = await updateFile({
    ...req,
    create: false,
    update: (current) => {
      let text = current ?? "";
      let edited = false;
      for (const r of reqs) {
        if (options.expiredBy !== undefined) {
          const recorded = Date.parse(readSections(text).get(r.profile)?.[EXPIRATION_KEY] ?? "");
          if (!(recorded <= options.expiredBy)) continue;
        }
        const next = removeSection(text, sectionFor(kind, r.profile));
        if (next !== undefined) {
          text = next;
          edited = true;
        }
      }
      return edited ? text : undefined;
    },
  });
  if (changed) {
    for (const r of reqs) req.logger?.info?.(`credbridge: removed profile ${r.profile} from ${req.path}`);
  }
  return reqs.map((r) => ({ path: r.path, profile: r.profile, changed }));
};
