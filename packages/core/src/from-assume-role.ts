import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
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
import { type RuntimeOptions, resolveRuntime } from "./runtime.js";
import { parseRoleArn } from "./wire/arn.js";

export interface FromAssumeRoleOptions extends StsSettings {
  /** The role to assume. Required. */
  roleArn: string;
  /** Default `credbridge-<epoch ms>`. */
  roleSessionName?: string | undefined;
  /** The external id the role's trust policy requires, for third-party cross-account access. */
  externalId?: string | undefined;
  /** Session length in seconds (900 to the role's maximum; 3600 at most when chaining). */
  durationSeconds?: number | undefined;
  /** Session tags. */
  tags?: Readonly<Record<string, string>> | undefined;
  /** Tag keys that persist into later hops of a chain. */
  transitiveTagKeys?: readonly string[] | undefined;
  sourceIdentity?: string | undefined;
  /** An inline session policy (JSON). */
  policy?: string | undefined;
  policyArns?: readonly string[] | undefined;
  runtime?: RuntimeOptions | undefined;
}

export const validateRoleArn = (roleArn: string | undefined, where: string): string => {
  if (!roleArn || !parseRoleArn(roleArn)) {
    throw new CredbridgeError(
      `${where}: roleArn ${roleArn ? `"${roleArn.slice(0, 120)}" is not a role ARN` : "is missing"}: expected arn:aws:iam::<12-digit account>:role/<name>`,
      { code: "ERR_CONFIG" },
    );
  }
  return roleArn;
};

/**
 * Credentials from `sts:AssumeRole`, signed with the `source` provider's
 * credentials. Each call calls STS once: wrap the result in `refreshing` to cache.
 */
export const fromAssumeRole = (
  source: AwsCredentialIdentityProvider,
  options: FromAssumeRoleOptions,
): AwsCredentialIdentityProvider => {
  const rt = resolveRuntime(options.runtime);
  let client: Awaited<ReturnType<typeof createStsClient>> | undefined;
  // The STS client asks for the signing identity itself; a fresh call to
  // `source` per request keeps a chain signed by its previous hop's current keys.
  const signer = (): Promise<AwsCredentialIdentity> => source();
  return async () => {
    const roleArn = validateRoleArn(options.roleArn, "fromAssumeRole");
    const roleSessionName = validateSessionName(
      options.roleSessionName ?? generateSessionName(rt.now()),
      "fromAssumeRole",
    );
    client ??= await createStsClient(options, rt.env, signer);
    const { client: sts, sts: mod, resolved } = client;
    try {
      const command = new mod.AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: roleSessionName,
        ExternalId: options.externalId,
        DurationSeconds: options.durationSeconds,
        Tags: options.tags ? Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })) : undefined,
        TransitiveTagKeys: options.transitiveTagKeys ? [...options.transitiveTagKeys] : undefined,
        SourceIdentity: options.sourceIdentity,
        Policy: options.policy,
        PolicyArns: toPolicyArns(options.policyArns),
      });
      const what = { action: "AssumeRole", target: roleArn, endpoint: resolved.endpoint };
      const out = await sendWithDeadline(rt, options, what, (abortSignal) =>
        sts.send(command, { abortSignal }),
      );
      return fromStsCredentials(out.Credentials, "AssumeRole", roleArn, out.AssumedRoleUser?.Arn);
    } catch (error) {
      throw toStsError(error, "AssumeRole", roleArn, resolved.endpoint);
    }
  };
};
