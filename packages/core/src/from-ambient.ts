import type { AwsCredentialIdentityProvider } from "@smithy/types";
import {
  ENV_CONTAINER_CREDENTIALS_FULL_URI,
  ENV_CONTAINER_CREDENTIALS_RELATIVE_URI,
  ENV_ROLE_ARN,
  ENV_WEB_IDENTITY_TOKEN_FILE,
  firstEnv,
} from "./env.js";
import { type FromDefaultChainOptions, fromDefaultChain } from "./from-default-chain.js";
import { type FromPodIdentityOptions, fromPodIdentity } from "./from-pod-identity.js";
import { type FromWebIdentityOptions, fromWebIdentity } from "./from-web-identity.js";
import { type RuntimeOptions, resolveRuntime } from "./runtime.js";

export type AmbientSourceKind = "web-identity" | "pod-identity" | "default";

/** Which source `fromAmbient` uses, and why. Names variables, never their secret values. */
export interface AmbientDetection {
  source: AmbientSourceKind;
  reason: string;
  /** The variables that decided it. */
  variables: string[];
}

export interface FromAmbientOptions {
  webIdentity?: Omit<FromWebIdentityOptions, "runtime"> | undefined;
  podIdentity?: Omit<FromPodIdentityOptions, "runtime"> | undefined;
  /** Options for `@aws-sdk/credential-provider-node`'s default chain. */
  defaultChain?: FromDefaultChainOptions | undefined;
  runtime?: RuntimeOptions | undefined;
}

/** Decides the source from the environment (and explicit options) alone: no I/O. */
export const detectAmbientSource = (
  env: Readonly<Record<string, string | undefined>>,
  options: Pick<FromAmbientOptions, "webIdentity" | "podIdentity"> = {},
): AmbientDetection => {
  const tokenFile = options.webIdentity?.tokenFile ?? firstEnv(env, ENV_WEB_IDENTITY_TOKEN_FILE)?.value;
  const roleArn = options.webIdentity?.roleArn ?? firstEnv(env, ENV_ROLE_ARN)?.value;
  if (tokenFile && roleArn) {
    return {
      source: "web-identity",
      reason: `${ENV_WEB_IDENTITY_TOKEN_FILE} and ${ENV_ROLE_ARN} are set (IRSA)`,
      variables: [ENV_WEB_IDENTITY_TOKEN_FILE, ENV_ROLE_ARN],
    };
  }
  const uri = options.podIdentity?.uri
    ? { name: "podIdentity.uri option" }
    : firstEnv(env, ENV_CONTAINER_CREDENTIALS_FULL_URI, ENV_CONTAINER_CREDENTIALS_RELATIVE_URI);
  if (uri) {
    return {
      source: "pod-identity",
      reason: `${uri.name} is set (EKS Pod Identity or ECS container credentials)${
        tokenFile || roleArn
          ? `; web identity skipped because ${tokenFile ? ENV_ROLE_ARN : ENV_WEB_IDENTITY_TOKEN_FILE} is not set`
          : ""
      }`,
      variables: [uri.name],
    };
  }
  const half = tokenFile ? ENV_ROLE_ARN : roleArn ? ENV_WEB_IDENTITY_TOKEN_FILE : undefined;
  return {
    source: "default",
    reason: `neither IRSA (${ENV_WEB_IDENTITY_TOKEN_FILE} + ${ENV_ROLE_ARN}) nor a container-credentials URI is set${
      half ? ` (${half} is missing)` : ""
    }: using the AWS SDK's default chain`,
    variables: [],
  };
};

export interface AmbientProvider extends AwsCredentialIdentityProvider {
  /** Which source this provider uses and why, from the environment as it is now. */
  detect(): AmbientDetection;
}

/**
 * The source the environment describes: IRSA's web identity, else the Pod
 * Identity / ECS endpoint, else the AWS SDK's default chain. Detection happens
 * when the provider runs, so the factory does no I/O.
 */
export const fromAmbient = (options: FromAmbientOptions = {}): AmbientProvider => {
  const rt = resolveRuntime(options.runtime);
  let picked: { kind: AmbientSourceKind; provider: AwsCredentialIdentityProvider } | undefined;
  const detect = () => detectAmbientSource(rt.env, options);
  const build = (kind: AmbientSourceKind): AwsCredentialIdentityProvider => {
    if (kind === "web-identity") return fromWebIdentity({ ...options.webIdentity, runtime: options.runtime });
    if (kind === "pod-identity") return fromPodIdentity({ ...options.podIdentity, runtime: options.runtime });
    return fromDefaultChain(options.defaultChain);
  };
  const provider = (async () => {
    const detection = detect();
    if (picked?.kind !== detection.source) {
      rt.logger?.debug?.(`credbridge: credentials source ${detection.source}: ${detection.reason}`);
      picked = { kind: detection.source, provider: build(detection.source) };
    }
    return picked.provider();
  }) as AmbientProvider;
  provider.detect = detect;
  return provider;
};
