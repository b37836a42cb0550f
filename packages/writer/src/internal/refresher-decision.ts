import { CredbridgeError, isCredbridgeError } from "@credbridge/core";
import type { AwsCredentialIdentity } from "@smithy/types";
import { checkWritableCredentials, type ProfileCredentials } from "../write-credentials.js";

// The refresher's whole policy, as pure functions of what the file holds, the
// credentials queued, the failures and the clock: no timer, no file, no log.
// write-loop.ts and write-outcomes.ts perform what these decide.

/** What the refresher knows of one profile's section in the file. */
export interface HeldSection {
  /** This refresher's last successful write of it. */
  lastWriteAt: number | undefined;
  /** When the credentials it holds expire; undefined when unknown (never written) or never. */
  expirationWritten: Date | undefined;
}

/** What the write loop does next. */
export type Step = "write" | "remove-expired" | "idle";

/** New credentials first: they replace an expired section anyway. */
export const nextStep = (state: { stopped: boolean; queued: number; expiring: number }): Step => {
  if (state.stopped) return "idle";
  if (state.queued > 0) return "write";
  return state.expiring > 0 ? "remove-expired" : "idle";
};

/** The ERR_EXPIRED for credentials with less than the margin left, or undefined when they may be written. */
export const marginRefusal = (
  credentials: AwsCredentialIdentity,
  now: number,
  minRemainingSeconds: number,
): CredbridgeError | undefined => {
  if (credentials.expiration === undefined) return undefined;
  const leftMs = credentials.expiration.getTime() - now;
  if (leftMs >= minRemainingSeconds * 1000) return undefined;
  return new CredbridgeError(
    `these credentials expire at ${credentials.expiration.toISOString()}, ${Math.max(0, Math.floor(leftMs / 1000))} s from now, less than the ${minRemainingSeconds} s every output keeps; not writing them`,
    { code: "ERR_EXPIRED" },
  );
};

/**
 * Before a write, each profile alone: credentials that cannot go into the
 * file (not writable, or inside the margin) are refused as they are — they
 * wait for new ones and hold back no other profile's; the rest go out in one
 * write. Checked on every try: a retry after a backoff may come too late for
 * some.
 */
export const sortQueued = (
  queued: Iterable<readonly [string, AwsCredentialIdentity]>,
  now: number,
  minRemainingSeconds: number,
): { write: ProfileCredentials[]; refused: { profile: string; error: Error }[] } => {
  const write: ProfileCredentials[] = [];
  const refused: { profile: string; error: Error }[] = [];
  for (const [profile, credentials] of queued) {
    try {
      checkWritableCredentials(credentials);
      const refusal = marginRefusal(credentials, now, minRemainingSeconds);
      if (refusal) throw refusal;
      write.push({ profile, credentials });
    } catch (error) {
      refused.push({ profile, error: error as Error });
    }
  }
  return { write, refused };
};

/** By the writer's own rule under the lock: less than the margin left, or expired. */
export const enteredMargin = (
  credentials: AwsCredentialIdentity,
  now: number,
  minRemainingSeconds: number,
): boolean => {
  if (credentials.expiration === undefined) return false;
  const at = credentials.expiration.getTime();
  return at <= now || at - now < minRemainingSeconds * 1000;
};

const isExpiredError = (error: Error): boolean => isCredbridgeError(error) && error.code === "ERR_EXPIRED";

/**
 * What a failed write of `tried` means for its profiles:
 * - `split`: some profile's credentials entered the margin under the lock:
 *   they wait for new ones, and the others are written again at once;
 * - `wait-for-new`: the credentials were refused as they are (inside the
 *   margin): no retry, the profiles wait for new credentials;
 * - `retry`: the same credentials are tried again after a backoff.
 */
export type AfterFailure =
  | { action: "split"; waitForNew: ProfileCredentials[]; writeAgain: ProfileCredentials[] }
  | { action: "wait-for-new" }
  | { action: "retry" };

export const afterFailedWrite = (
  tried: readonly ProfileCredentials[],
  error: Error,
  now: number,
  minRemainingSeconds: number,
): AfterFailure => {
  const short = tried.filter((t) => enteredMargin(t.credentials, now, minRemainingSeconds));
  if (tried.length > 1 && short.length > 0 && isExpiredError(error)) {
    return { action: "split", waitForNew: short, writeAgain: tried.filter((t) => !short.includes(t)) };
  }
  return isExpiredError(error) ? { action: "wait-for-new" } : { action: "retry" };
};

/** How a failed write is reported for one profile. */
export interface FailureVerdict {
  /** The file is left holding these credentials past their expiry: no retry comes before it. */
  leftExpired: boolean;
  /** An error (never written, or left expired), else a warning. */
  level: "error" | "warn";
}

/** `retryAt` undefined: waiting for new credentials, which counts as left holding these. */
export const failureVerdict = (held: HeldSection, retryAt: Date | undefined): FailureVerdict => {
  const written = held.expirationWritten;
  const leftExpired =
    written !== undefined && (retryAt === undefined || retryAt.getTime() >= written.getTime());
  return { leftExpired, level: leftExpired || held.lastWriteAt === undefined ? "error" : "warn" };
};

/** Newer credentials queued meanwhile win: of `tried`, those to queue again. */
export const notSuperseded = (
  tried: readonly ProfileCredentials[],
  queued: ReadonlyMap<string, AwsCredentialIdentity>,
): ProfileCredentials[] => tried.filter((t) => !queued.has(t.profile));

/**
 * How long to wait before the next write: `delay` (the backoff of a failed
 * write) only when retrying the same credentials; newer ones are tried at once.
 */
export const backoffBeforeWrite = (
  delay: number | undefined,
  stopped: boolean,
  queued: ReadonlyMap<string, AwsCredentialIdentity>,
  batch: ReadonlyMap<string, AwsCredentialIdentity>,
): number | undefined =>
  !stopped &&
  queued.size > 0 &&
  [...queued].every(([profile, credentials]) => batch.get(profile) === credentials)
    ? delay
    : undefined;

/** Of the profiles whose file expired, those still holding the expired credentials (nobody renewed them). */
export const dueForRemoval = <T extends HeldSection>(sections: readonly T[], now: number): T[] =>
  sections.filter((s) => s.expirationWritten !== undefined && s.expirationWritten.getTime() <= now);

/**
 * The expiry of a section found in the file at start (a previous process's)
 * that the refresher watches as if it had written it: only for a profile it
 * knows nothing of yet (a section it wrote already is left to that write),
 * and only a valid `recorded` expiry.
 */
export const adoptedExpiry = (held: HeldSection, recorded: string | undefined): Date | undefined => {
  if (held.lastWriteAt !== undefined || held.expirationWritten !== undefined) return undefined;
  const at = Date.parse(recorded ?? "");
  return Number.isFinite(at) ? new Date(at) : undefined;
};

/** Written, holding credentials with more than the margin left. */
export const isHealthy = (
  held: HeldSection,
  stopped: boolean,
  now: number,
  minRemainingSeconds: number,
): boolean =>
  !stopped &&
  held.lastWriteAt !== undefined &&
  (held.expirationWritten === undefined ||
    held.expirationWritten.getTime() - now > minRemainingSeconds * 1000);
