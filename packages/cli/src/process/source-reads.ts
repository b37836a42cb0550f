import type { SourceFlags } from "../args/flags.js";
import { SOURCE_ENV } from "../source-env.js";

type Flags = SourceFlags;
type Env = Readonly<Record<string, string | undefined>>;

/** Read by the STS calls core makes itself, unless a flag says it. */
const sts = (flags: Flags): string[] => [
  ...unless(flags.region, "AWS_REGION", "AWS_DEFAULT_REGION"),
  ...unless(flags["sts-endpoint"], "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"),
];

const unless = (flag: unknown, ...names: string[]): string[] => (flag === undefined ? names : []);

/** fromWebIdentity: each variable only when its flag is absent. */
const webIdentity = (flags: Flags): string[] => [
  ...unless(flags["role-arn"], "AWS_ROLE_ARN"),
  ...unless(flags["web-identity-token-file"], "AWS_WEB_IDENTITY_TOKEN_FILE"),
  ...unless(flags["role-session-name"], "AWS_ROLE_SESSION_NAME"),
  ...sts(flags),
];

/**
 * fromPodIdentity. The token itself (AWS_CONTAINER_AUTHORIZATION_TOKEN) is a
 * secret and never part of a key; its file's path stands for it.
 */
const POD_IDENTITY = [
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/**
 * The AWS SDK's default chain reads nearly everything: static keys (the key id
 * stands for its pair), profiles and both shared files, web identity, the
 * container endpoint and instance metadata.
 */
const DEFAULT_CHAIN = [
  ...SOURCE_ENV,
  "AWS_ACCESS_KEY_ID",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT",
];

const given = (flags: Flags, env: Env, flag: keyof Flags, variable: string): boolean => {
  const value = flags[flag] ?? env[variable];
  return typeof value === "string" && value.trim() !== "";
};

/**
 * The environment variables the source chosen by `flags` (and, for `--source
 * auto`, by the environment itself, as core's detectAmbientSource decides)
 * reads, with the self-assume and --assume-role steps: exactly what can change
 * the credentials `process` prints. The process cache keys on these and
 * nothing more, so the same configuration hits the same entry whether the
 * AWS CLI (which sets AWS_CONFIG_FILE) or a shell runs it. Kept free of core:
 * a cache hit loads none of it (test/cli/process-cache-key.test.ts checks
 * this table against what core really reads).
 */
export const sourceReads = (flags: Flags, env: Env): string[] => {
  const names = new Set<string>();
  const add = (list: readonly string[]) => {
    for (const name of list) names.add(name);
  };
  const kind = flags.source ?? "auto";
  if (kind === "web-identity") add(webIdentity(flags));
  else if (kind === "pod-identity") add(POD_IDENTITY);
  else if (kind === "default") add(DEFAULT_CHAIN);
  else {
    // Detection reads the IRSA pair (where no flag gives it), then the container URIs.
    add(unless(flags["web-identity-token-file"], "AWS_WEB_IDENTITY_TOKEN_FILE"));
    add(unless(flags["role-arn"], "AWS_ROLE_ARN"));
    if (
      given(flags, env, "web-identity-token-file", "AWS_WEB_IDENTITY_TOKEN_FILE") &&
      given(flags, env, "role-arn", "AWS_ROLE_ARN")
    ) {
      add(webIdentity(flags));
    } else {
      add(POD_IDENTITY.slice(0, 2));
      const uri = POD_IDENTITY.slice(0, 2).some((name) => env[name]?.trim());
      add(uri ? POD_IDENTITY : DEFAULT_CHAIN);
    }
  }
  if (flags["self-assume"] === true) add([...unless(flags["role-arn"], "AWS_ROLE_ARN"), ...sts(flags)]);
  if ((flags["assume-role"] ?? []).length > 0) add(sts(flags));
  return [...names].sort();
};
