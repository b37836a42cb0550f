import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { ENV_ROLE_ARN, firstEnv } from "./env.js";
import { CredbridgeError, isCredbridgeError } from "./errors.js";
import { type FromAssumeRoleOptions, fromAssumeRole, validateRoleArn } from "./from-assume-role.js";
import { capChainedDuration } from "./internal/chain-duration.js";
import { createStsClient, sendWithDeadline } from "./internal/sts-client.js";
import { toStsError } from "./internal/sts-error.js";
import { resolveRuntime } from "./runtime.js";
import { formatRoleArn, parseAssumedRoleArn } from "./wire/arn.js";

export interface SelfAssumeOptions extends Omit<FromAssumeRoleOptions, "roleArn"> {
  /**
   * The role the source already holds. Default `AWS_ROLE_ARN`, else derived from
   * `sts:GetCallerIdentity`. A derived ARN cannot know the role's path: roles
   * with a path (`role/service/name`) need this option or `AWS_ROLE_ARN`.
   */
  roleArn?: string | undefined;
}

/** `arn:aws:sts::123:assumed-role/name/session` → `arn:aws:iam::123:role/name` (the path is unknowable). */
export const roleArnFromAssumedRoleArn = (arn: string): string | undefined => {
  const session = parseAssumedRoleArn(arn);
  return session ? formatRoleArn(session) : undefined;
};

/**
 * Assumes, with the source's credentials, the very role the source holds: the
 * pattern that replaces the `aws sts assume-role` sidecar loop. The role's trust
 * policy must allow the role itself. As a chained session it lasts one hour at most.
 */
export const selfAssume = (
  source: AwsCredentialIdentityProvider,
  options: SelfAssumeOptions = {},
): AwsCredentialIdentityProvider => {
  const rt = resolveRuntime(options.runtime);
  let assume: AwsCredentialIdentityProvider | undefined;
  let derivedFrom: string | undefined;
  let primed: AwsCredentialIdentity | undefined;
  const signer: AwsCredentialIdentityProvider = async () => {
    const reuse = primed;
    primed = undefined;
    return reuse ?? source();
  };

  const resolveRoleArn = async (): Promise<string> => {
    const configured = options.roleArn ?? firstEnv(rt.env, ENV_ROLE_ARN)?.value;
    if (configured) return validateRoleArn(configured, "selfAssume");
    // Derivation signs with one fetch of the source; the first AssumeRole reuses it.
    const credentials = await source();
    primed = credentials;
    const { client, sts, resolved } = await createStsClient(options, rt.env, credentials);
    let arn: string | undefined;
    try {
      const what = {
        action: "GetCallerIdentity",
        target: "the source's identity",
        endpoint: resolved.endpoint,
      };
      const command = new sts.GetCallerIdentityCommand({});
      arn = (
        await sendWithDeadline(rt, options, what, (abortSignal) => client.send(command, { abortSignal }))
      ).Arn;
    } catch (error) {
      throw toStsError(error, "GetCallerIdentity", "the source's identity", resolved.endpoint);
    } finally {
      client.destroy();
    }
    const derived = arn && roleArnFromAssumedRoleArn(arn);
    if (!derived) {
      throw new CredbridgeError(
        `selfAssume: the source's identity ${arn ?? "(none)"} is not an assumed role, so there is no role to assume again; set roleArn or ${ENV_ROLE_ARN}`,
        { code: "ERR_CONFIG" },
      );
    }
    derivedFrom = arn;
    return derived;
  };

  return async () => {
    if (!assume) {
      const roleArn = await resolveRoleArn();
      assume = fromAssumeRole(signer, {
        ...options,
        roleArn,
        durationSeconds: capChainedDuration(options.durationSeconds, roleArn, rt.logger),
      });
    }
    try {
      return await assume();
    } catch (error) {
      if (derivedFrom && isCredbridgeError(error) && error.serviceCode === "AccessDenied") {
        throw new CredbridgeError(
          `${error.message}. The role ARN was derived from ${derivedFrom}; a role with a path (role/<path>/<name>) cannot be derived: set roleArn or ${ENV_ROLE_ARN} to its full ARN`,
          { code: error.code, serviceCode: error.serviceCode, statusCode: error.statusCode, cause: error },
        );
      }
      throw error;
    }
  };
};
