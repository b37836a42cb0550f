import type { Logger } from "@smithy/types";
import { ROLE_CHAINING_MAX_SECONDS } from "../env.js";

/**
 * AWS limits a session obtained with role credentials to one hour. Asking for
 * more fails the whole call; capping with a warning keeps the chain working.
 */
export const capChainedDuration = (
  durationSeconds: number | undefined,
  roleArn: string,
  logger: Logger | undefined,
): number | undefined => {
  if (durationSeconds === undefined || durationSeconds <= ROLE_CHAINING_MAX_SECONDS) return durationSeconds;
  logger?.warn(
    `credbridge: ${roleArn} is assumed by role chaining, which AWS limits to ${ROLE_CHAINING_MAX_SECONDS} s: durationSeconds ${durationSeconds} capped to ${ROLE_CHAINING_MAX_SECONDS}`,
  );
  return ROLE_CHAINING_MAX_SECONDS;
};
