import type { SharedFileOptions, WriteResult } from "./file-options.js";
import { updateFile } from "./internal/atomic-write.js";
import { resolveFileRequest } from "./internal/file-request.js";
import { upsertSection } from "./internal/ini-merge.js";
import { sectionFor } from "./internal/section-name.js";
import { checkSettingKey, checkSettingValue } from "./internal/validate.js";

/**
 * Settings of one config profile: `region`, `credential_process`, `role_arn`,
 * `source_profile`, `web_identity_token_file`... `null` removes a setting;
 * `undefined` leaves it alone.
 */
export type ProfileSettings = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface WriteConfigOptions extends SharedFileOptions {
  /** Replace the whole profile with `settings` instead of merging into it. Default false. */
  replace?: boolean | undefined;
}

/**
 * Sets profile settings in the shared config file (`AWS_CONFIG_FILE`, else
 * `~/.aws/config`), under `[default]` or `[profile NAME]`, through the same
 * locked atomic path as {@link writeCredentials}. Other profiles, other
 * sections (`sso-session`, `services`) and other settings of this profile are
 * kept as they were.
 */
export const writeConfig = async (
  settings: ProfileSettings,
  options: WriteConfigOptions = {},
): Promise<WriteResult> => {
  const req = resolveFileRequest("config", options);
  const entries: Array<[string, string]> = [];
  const remove = new Set<string>();
  for (const [key, value] of Object.entries(settings ?? {})) {
    if (value === undefined) continue;
    checkSettingKey(key);
    if (value === null) remove.add(key.toLowerCase());
    else entries.push([key, checkSettingValue(key, value)]);
  }
  const changed = await updateFile({
    ...req,
    create: true,
    update: (current) => {
      const next = upsertSection(current ?? "", sectionFor("config", req.profile), entries, {
        remove,
        replaceSection: options.replace,
      });
      return next === current ? undefined : next;
    },
  });
  if (changed) req.logger?.debug?.(`credbridge: wrote profile ${req.profile} to ${req.path}`);
  return { path: req.path, profile: req.profile, changed };
};
