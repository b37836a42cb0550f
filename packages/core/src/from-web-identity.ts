import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { ENV_ROLE_ARN, ENV_ROLE_SESSION_NAME, ENV_WEB_IDENTITY_TOKEN_FILE, firstEnv } from "./env.js";
import { CredbridgeError } from "./errors.js";
import { generateSessionName, validateSessionName } from "./internal/session-name.js";
import {
  createStsClient,
  fromStsCredentials,
  type StsSettings,
  sendWithDeadline,
  toPolicyArns,
} from "./internal/sts-client.js";
import { toStsError } from "./internal/sts-error.js";
import { readTokenFile } from "./internal/token-file.js";
import { type RuntimeOptions, resolveRuntime } from "./runtime.js";

export interface FromWebIdentityOptions extends StsSettings {
  /** The role to assume. Default `AWS_ROLE_ARN`. */
  roleArn?: string | undefined;
  /** The projected service-account token. Default `AWS_WEB_IDENTITY_TOKEN_FILE`. Re-read on every fetch. */
  tokenFile?: string | undefined;
  /** Default `AWS_ROLE_SESSION_NAME`, else `credbridge-<epoch ms>`. */
  roleSessionName?: string | undefined;
  /** Session length in seconds (900 to the role's maximum). STS's default is 3600. */
  durationSeconds?: number | undefined;
  /** An inline session policy (JSON) that narrows the role's permissions. */
  policy?: string | undefined;
  /** Managed policies that narrow the role's permissions. */
  policyArns?: readonly string[] | undefined;
  runtime?: RuntimeOptions | undefined;
}

export interface ResolvedWebIdentityConfig {
  roleArn: string;
  tokenFile: string;
  roleSessionName: string;
}

/** Option, then environment, then default; "not configured" lets a chain move on. */
export const resolveWebIdentityConfig = (
  options: FromWebIdentityOptions,
  env: Readonly<Record<string, string | undefined>>,
  now: number,
): ResolvedWebIdentityConfig => {
  const tokenFile = options.tokenFile ?? firstEnv(env, ENV_WEB_IDENTITY_TOKEN_FILE)?.value;
  const roleArn = options.roleArn ?? firstEnv(env, ENV_ROLE_ARN)?.value;
  if (!tokenFile || !roleArn) {
    const missing = [
      !tokenFile && `${ENV_WEB_IDENTITY_TOKEN_FILE} (or the tokenFile option)`,
      !roleArn && `${ENV_ROLE_ARN} (or the roleArn option)`,
    ].filter(Boolean);
    throw new CredbridgeError(`fromWebIdentity: not configured: set ${missing.join(" and ")}`, {
      code: "ERR_CONFIG",
      tryNextLink: true,
    });
  }
  const roleSessionName = validateSessionName(
    options.roleSessionName ?? firstEnv(env, ENV_ROLE_SESSION_NAME)?.value ?? generateSessionName(now),
    "fromWebIdentity",
  );
  return { roleArn, tokenFile, roleSessionName };
};

/**
 * Credentials from `sts:AssumeRoleWithWebIdentity` with an IRSA (or any OIDC)
 * token file. Each call reads the token file and calls STS once: wrap it in
 * `refreshing` to cache.
 */
export const fromWebIdentity = (options: FromWebIdentityOptions = {}): AwsCredentialIdentityProvider => {
  const rt = resolveRuntime(options.runtime);
  let client: Awaited<ReturnType<typeof createStsClient>> | undefined;
  return async () => {
    const config = resolveWebIdentityConfig(options, rt.env, rt.now());
    const token = await readTokenFile(
      rt,
      config.tokenFile,
      options.tokenFile ? "tokenFile option" : ENV_WEB_IDENTITY_TOKEN_FILE,
      "web-identity token",
    );
    client ??= await createStsClient(options, rt.env);
    const { client: sts, sts: mod, resolved } = client;
    try {
      const command = new mod.AssumeRoleWithWebIdentityCommand({
        RoleArn: config.roleArn,
        RoleSessionName: config.roleSessionName,
        WebIdentityToken: token,
        DurationSeconds: options.durationSeconds,
        Policy: options.policy,
        PolicyArns: toPolicyArns(options.policyArns),
      });
      const what = {
        action: "AssumeRoleWithWebIdentity",
        target: config.roleArn,
        endpoint: resolved.endpoint,
      };
      const out = await sendWithDeadline(rt, options, what, (abortSignal) =>
        sts.send(command, { abortSignal }),
      );
      return fromStsCredentials(
        out.Credentials,
        "AssumeRoleWithWebIdentity",
        config.roleArn,
        out.AssumedRoleUser?.Arn,
      );
    } catch (error) {
      throw toStsError(error, "AssumeRoleWithWebIdentity", config.roleArn, resolved.endpoint);
    }
  };
};
