import { homedir as osHomedir } from "node:os";
import { join, resolve } from "node:path";
import { CredbridgeError, noHomeReason } from "@credbridge/core";

/** The variable the AWS SDKs read the shared credentials file's path from. */
export const ENV_SHARED_CREDENTIALS_FILE = "AWS_SHARED_CREDENTIALS_FILE";
/** The variable the AWS SDKs read the shared config file's path from. */
export const ENV_CONFIG_FILE = "AWS_CONFIG_FILE";

export type FileKind = "credentials" | "config";

const ENV_BY_KIND: Record<FileKind, string> = {
  credentials: ENV_SHARED_CREDENTIALS_FILE,
  config: ENV_CONFIG_FILE,
};

export interface PathInputs {
  path?: string | undefined;
  env?: Readonly<Record<string, string | undefined>> | undefined;
  homedir?: string | undefined;
}

/**
 * Option, then the SDKs' variable, then `~/.aws/<kind>`; `~/` expanded and the
 * result made absolute, so the lock and the temp file sit beside the real target.
 */
export const resolveFilePath = (kind: FileKind, inputs: PathInputs): string => {
  const env = inputs.env ?? process.env;
  const home = () => {
    let h = inputs.homedir ?? env.HOME;
    if (!h) {
      try {
        h = osHomedir();
      } catch {
        // No HOME and no passwd entry for this uid (a pod's runAsUser): said below, not as uv_os_homedir.
      }
    }
    if (!h) {
      throw new CredbridgeError(
        `writer: no home directory to place ~/.aws/${kind} in (${noHomeReason(env, process.geteuid?.())}); set the path option or ${ENV_BY_KIND[kind]}`,
        { code: "ERR_CONFIG" },
      );
    }
    return h;
  };
  const raw = inputs.path || env[ENV_BY_KIND[kind]] || join(home(), ".aws", kind);
  const expanded = raw === "~" || raw.startsWith("~/") ? join(home(), raw.slice(1)) : raw;
  return resolve(expanded);
};
