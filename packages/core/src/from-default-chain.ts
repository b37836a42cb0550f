import type { AwsCredentialIdentityProvider } from "@smithy/types";

/** Options of `@aws-sdk/credential-provider-node`'s `defaultProvider` (profile, timeouts, ...). */
export type FromDefaultChainOptions = Record<string, unknown>;

/**
 * The AWS SDK's own default chain (environment keys, shared files, SSO, web
 * identity, container and instance metadata), loaded only when first called.
 */
export const fromDefaultChain = (options: FromDefaultChainOptions = {}): AwsCredentialIdentityProvider => {
  let chain: AwsCredentialIdentityProvider | undefined;
  return async (properties) => {
    if (!chain) {
      const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
      chain = defaultProvider(options);
    }
    return chain(properties);
  };
};
