import type { Logger } from "@smithy/types";
import type { RefresherEvent } from "../refresher-types.js";
import type { FailureVerdict } from "./refresher-decision.js";

/** One failed write, as {@link RefresherReporter.writeFailed} reports it for one profile. */
export interface WriteFailure {
  profile: string;
  error: Error;
  consecutiveFailures: number;
  /** When the write is tried again; undefined when it waits for new credentials. */
  retryAt: Date | undefined;
  /** When the credentials the profile's section holds expire. */
  written: Date | undefined;
  verdict: FailureVerdict;
  now: number;
}

export type RefresherReporter = ReturnType<typeof createReporter>;

/**
 * What the refresher tells its observer and logger: every line names the
 * file and the profile, none holds a secret. An observer that throws is
 * logged, never allowed to break the write loop.
 */
export const createReporter = (
  path: string,
  logger: Logger | undefined,
  observer: ((event: RefresherEvent) => void) | undefined,
) => {
  const emit = (event: RefresherEvent) => {
    try {
      observer?.(event);
    } catch (error) {
      logger?.warn(`credbridge: a refresher observer threw: ${(error as Error)?.message}`);
    }
  };

  return {
    /** `held`: when the credentials the profile now holds expire. */
    wrote(profile: string, held: Date | undefined, now: number): void {
      logger?.info?.(
        `credbridge: ${path} [${profile}] updated; credentials expire ${held?.toISOString() ?? "never"}`,
      );
      emit({ type: "write-success", path, profile, at: new Date(now), expiration: held });
    },

    writeFailed(f: WriteFailure): void {
      const message =
        `credbridge: writing ${path} [${f.profile}] failed (${f.consecutiveFailures} in a row): ${f.error.message}; ` +
        (f.retryAt
          ? `retrying at ${f.retryAt.toISOString()}`
          : "waiting for new credentials from the refresh engine") +
        (f.verdict.leftExpired
          ? `; the file is left holding credentials that expire at ${f.written?.toISOString()}`
          : "");
      if (f.verdict.level === "error") logger?.error(message);
      else logger?.warn(message);
      emit({
        type: "write-failure",
        path,
        profile: f.profile,
        at: new Date(f.now),
        error: f.error,
        consecutiveFailures: f.consecutiveFailures,
        retryAt: f.retryAt,
      });
    },

    fileExpired(profile: string, expiration: Date, lastError: string | undefined, now: number): void {
      logger?.error(
        `credbridge: ${path} [${profile}] now holds credentials that expired at ${expiration.toISOString()}; the application's AWS calls will fail until a write succeeds` +
          (lastError ? ` (last error: ${lastError})` : ""),
      );
      emit({ type: "file-expired", path, profile, at: new Date(now), expiration });
    },

    removedExpired(profile: string, expired: Date | undefined): void {
      logger?.error(
        `credbridge: removed [${profile}] from ${path}: its credentials expired at ${expired?.toISOString()} and no new ones could be written`,
      );
    },

    removalFailed(profiles: readonly string[], error: Error): void {
      logger?.error(
        `credbridge: could not remove the expired ${profiles.map((p) => `[${p}]`).join(" ")} from ${path}: ${error.message}`,
      );
    },

    notRemovedOnStop(profiles: readonly string[], error: Error): void {
      logger?.error(
        `credbridge: could not remove ${profiles.map((n) => `[${n}]`).join(" ")} from ${path} on stop: ${error.message}`,
      );
    },

    notAdopted(error: Error): void {
      logger?.warn(`credbridge: could not read ${path} for the sections already there: ${error.message}`);
    },
  };
};
