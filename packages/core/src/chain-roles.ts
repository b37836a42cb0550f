import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { type FromAssumeRoleOptions, fromAssumeRole } from "./from-assume-role.js";
import { capChainedDuration } from "./internal/chain-duration.js";
import { resolveRuntime } from "./runtime.js";

/** One hop of a chain: the role to assume next, with the previous hop's credentials. */
export type RoleHop = FromAssumeRoleOptions;

/**
 * Cross-account role chaining: hop 1 is assumed with the source's credentials,
 * hop 2 with hop 1's, and so on. Every hop is a chained session, so a hop asking
 * for more than one hour is capped to it, with a warning.
 */
export const chainRoles = (
  source: AwsCredentialIdentityProvider,
  hops: readonly RoleHop[],
): AwsCredentialIdentityProvider =>
  hops.reduce<AwsCredentialIdentityProvider>(
    (previous, hop) =>
      fromAssumeRole(previous, {
        ...hop,
        durationSeconds: capChainedDuration(
          hop.durationSeconds,
          hop.roleArn,
          resolveRuntime(hop.runtime).logger,
        ),
      }),
    source,
  );
