// The STS calls every STS-backed provider makes: the client from its settings,
// each call bounded by a deadline, and the answer read as credentials naming the
// session STS confirmed.
import type { Credentials, PolicyDescriptorType, STSClient, STSClientConfig } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import {
  DEFAULT_STS_REGION,
  ENV_DEFAULT_REGION,
  ENV_ENDPOINT_URL,
  ENV_ENDPOINT_URL_STS,
  ENV_REGION,
  firstEnv,
} from "../env.js";
import { CredbridgeError } from "../errors.js";
import type { Runtime } from "../runtime.js";
import { parseAssumedRoleArn } from "../wire/arn.js";
import { confirmedRoleArn, type RoleSessionCredentials } from "../wire/session-identity.js";
import { withDeadline } from "./deadline.js";

/** Each STS call's overall deadline by default, the SDK's own retries included. */
export const DEFAULT_STS_TIMEOUT_MS = 20_000;

/** STS settings every STS-backed provider accepts. */
export interface StsSettings {
  /** STS region. Default `AWS_REGION`, then `AWS_DEFAULT_REGION`, then us-east-1. */
  region?: string | undefined;
  /** STS endpoint URL. Default `AWS_ENDPOINT_URL_STS`, then `AWS_ENDPOINT_URL`, then the regional endpoint. */
  stsEndpoint?: string | undefined;
  /** Extra `STSClient` configuration (retries, request handler, ...); explicit settings above win. */
  clientConfig?: STSClientConfig | undefined;
  /**
   * Overall deadline of each STS call in milliseconds, the SDK's retries
   * included; at the deadline the call is aborted. Default 20 000. The
   * client's `requestTimeout` is an idle timeout: an answer that trickles in
   * a byte at a time never trips it.
   */
  timeoutMs?: number | undefined;
}

export interface ResolvedSts {
  region: string;
  endpoint: string | undefined;
}

export const resolveStsSettings = (settings: StsSettings, env: Runtime["env"]): ResolvedSts => ({
  region: settings.region ?? firstEnv(env, ENV_REGION, ENV_DEFAULT_REGION)?.value ?? DEFAULT_STS_REGION,
  endpoint: settings.stsEndpoint ?? firstEnv(env, ENV_ENDPOINT_URL_STS, ENV_ENDPOINT_URL)?.value,
});

/**
 * Creates an STS client, loading `@aws-sdk/client-sts` only when first needed so
 * that code paths that never call STS (a cached credential_process answer) stay fast.
 */
export const createStsClient = async (
  settings: StsSettings,
  env: Runtime["env"],
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider,
): Promise<{ client: STSClient; sts: typeof import("@aws-sdk/client-sts"); resolved: ResolvedSts }> => {
  const sts = await import("@aws-sdk/client-sts");
  const resolved = resolveStsSettings(settings, env);
  const client = new sts.STSClient({
    // Short timeouts that really abort (the SDK only warns unless told to throw):
    // a sidecar must notice a hung STS before its callers' clients give up.
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
    ...settings.clientConfig,
    region: resolved.region,
    ...(resolved.endpoint ? { endpoint: resolved.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
  return { client, sts, resolved };
};

export const toPolicyArns = (arns: readonly string[] | undefined): PolicyDescriptorType[] | undefined =>
  arns?.map((arn) => ({ arn }));

/**
 * Sends one STS call under the overall deadline of `settings.timeoutMs`:
 * `send` gets the signal to hand the SDK (`client.send(command, { abortSignal })`).
 */
export const sendWithDeadline = <T>(
  rt: Pick<Runtime, "setTimer">,
  settings: StsSettings,
  what: { action: string; target: string; endpoint: string | undefined },
  send: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> => {
  const ms = settings.timeoutMs ?? DEFAULT_STS_TIMEOUT_MS;
  if (!Number.isFinite(ms) || ms <= 0) {
    return Promise.reject(
      new CredbridgeError(
        `sts:${what.action}: timeoutMs must be a positive number of milliseconds, got ${ms}`,
        {
          code: "ERR_CONFIG",
        },
      ),
    );
  }
  return withDeadline(
    rt,
    ms,
    send,
    () =>
      new CredbridgeError(
        `sts:${what.action} for ${what.target}: STS${what.endpoint ? ` at ${what.endpoint}` : ""} did not complete its answer within ${ms} ms (slow, or trickling in); the call was aborted`,
        { code: "ERR_TIMEOUT" },
      ),
  );
};

/**
 * STS's `Credentials` as an SDK identity; every field must be present. The
 * account and role come from STS's `AssumedRoleUser.Arn`, so whoever serves
 * these credentials names the session they really are, not the role some
 * earlier hop or the environment asked for.
 */
export const fromStsCredentials = (
  credentials: Credentials | undefined,
  action: string,
  roleArn: string,
  assumedRoleArn: string | undefined,
): RoleSessionCredentials => {
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = credentials ?? {};
  if (!AccessKeyId || !SecretAccessKey || !SessionToken || !Expiration) {
    throw new CredbridgeError(`sts:${action} for ${roleArn} answered without complete credentials`, {
      code: "ERR_INVALID_RESPONSE",
    });
  }
  const accountId = assumedRoleArn === undefined ? undefined : parseAssumedRoleArn(assumedRoleArn)?.accountId;
  const confirmed = confirmedRoleArn(assumedRoleArn, roleArn);
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    sessionToken: SessionToken,
    expiration: Expiration,
    ...(accountId ? { accountId } : {}),
    ...(confirmed ? { roleArn: confirmed } : {}),
  };
};
