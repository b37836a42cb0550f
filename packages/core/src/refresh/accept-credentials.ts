import type { AwsCredentialIdentity } from "@smithy/types";
import { CredbridgeError } from "../errors.js";
import { type Schedule, type ScheduleOptions, scheduleFor } from "./windows.js";

/** Credentials the engine holds, with the windows placed when they arrived. */
export interface Cached {
  credentials: AwsCredentialIdentity;
  /** Undefined for credentials without expiration: cached for good. */
  schedule: Schedule | undefined;
}

/**
 * Checks what a source returned and places its windows; throws when the
 * credentials are incomplete or leave less than the required remaining life.
 */
export const acceptCredentials = (
  name: string,
  credentials: AwsCredentialIdentity,
  now: number,
  windows: ScheduleOptions,
  random: number,
): Cached => {
  if (!credentials?.accessKeyId || !credentials.secretAccessKey) {
    throw new CredbridgeError(`${name}: the source returned credentials without an access key id or secret`, {
      code: "ERR_INVALID_RESPONSE",
    });
  }
  const expiration = credentials.expiration;
  if (expiration === undefined) return { credentials, schedule: undefined };
  const expiresAt = expiration.getTime();
  if (!Number.isFinite(expiresAt) || expiresAt - windows.minRemainingMs <= now) {
    throw new CredbridgeError(
      `${name}: the source returned credentials expiring at ${Number.isFinite(expiresAt) ? expiration.toISOString() : "an invalid date"}, ` +
        `which leaves less than the required ${windows.minRemainingMs / 1000} s; check the source's clock and session duration`,
      { code: "ERR_EXPIRED" },
    );
  }
  return { credentials, schedule: scheduleFor(now, expiresAt, random, windows) };
};

/** Whether cached credentials may still be returned at `now`. */
export const isUsable = (cached: Cached | undefined, now: number): cached is Cached =>
  cached !== undefined && (cached.schedule === undefined || now < cached.schedule.usableUntil);

/** What the decision and the status need of the cached credentials: their windows, `"static"`, or nothing cached. */
export const windowsOf = (cached: Cached | undefined): Schedule | "static" | undefined =>
  cached && (cached.schedule ?? "static");
