import type { AwsCredentialIdentity } from "@smithy/types";
import { CredbridgeError } from "../errors.js";

/** The window options of `refreshing`, in seconds as the user gives them. */
export interface WindowOptions {
  advisoryWindowSeconds?: number | undefined;
  mandatoryWindowSeconds?: number | undefined;
  minRemainingSeconds?: number | undefined;
  jitterSeconds?: number | undefined;
  attemptTimeoutSeconds?: number | undefined;
}

/** What the engine runs with: the windows, and how long one call to the source may take. */
export interface EngineSettings extends ScheduleOptions {
  attemptTimeoutMs: number;
}

/**
 * How long one refresh attempt may take by default: above the sum of the
 * deadlines of one token read and two STS calls (web identity, then a
 * self-assume or one hop), so the providers' own deadlines normally end a
 * slow call first and this one catches what they let through.
 */
export const DEFAULT_ATTEMPT_TIMEOUT_SECONDS = 60;

const DEFAULTS = {
  advisoryWindowSeconds: 900,
  mandatoryWindowSeconds: 600,
  minRemainingSeconds: 0,
  jitterSeconds: 60,
  attemptTimeoutSeconds: DEFAULT_ATTEMPT_TIMEOUT_SECONDS,
} as const;

const milliseconds = (
  options: WindowOptions,
  name: keyof WindowOptions,
  who: string,
  positive = false,
): number => {
  const value = options[name];
  const seconds = value ?? DEFAULTS[name];
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0 || (positive && seconds <= 0)) {
    throw new CredbridgeError(
      `${who}: ${name} must be a ${positive ? "positive" : "non-negative"} number of seconds, got ${value}`,
      { code: "ERR_CONFIG" },
    );
  }
  return seconds * 1000;
};

/**
 * Checks the windows once, before any upstream call: bad options are a
 * configuration error (ERR_CONFIG), never a refresh failure to retry.
 */
export const resolveWindows = (options: WindowOptions, who = "refreshing"): EngineSettings => {
  // The margin first: the windows sit above it, and a server checking its margin alone reads its own name in the error.
  const minRemainingMs = milliseconds(options, "minRemainingSeconds", who);
  const advisoryMs = milliseconds(options, "advisoryWindowSeconds", who);
  const mandatoryMs = milliseconds(options, "mandatoryWindowSeconds", who);
  const jitterMs = milliseconds(options, "jitterSeconds", who);
  const attemptTimeoutMs = milliseconds(options, "attemptTimeoutSeconds", who, true);
  if (mandatoryMs > advisoryMs) {
    throw new CredbridgeError(
      `${who}: mandatoryWindowSeconds (${mandatoryMs / 1000}) must not exceed advisoryWindowSeconds (${advisoryMs / 1000})`,
      { code: "ERR_CONFIG" },
    );
  }
  if (minRemainingMs > mandatoryMs) {
    throw new CredbridgeError(
      `${who}: minRemainingSeconds (${minRemainingMs / 1000}) must not exceed mandatoryWindowSeconds (${mandatoryMs / 1000}), or callers would be refused credentials before they ever waited for new ones`,
      { code: "ERR_CONFIG" },
    );
  }
  return { advisoryMs, mandatoryMs, minRemainingMs, jitterMs, attemptTimeoutMs };
};

/**
 * Throws ERR_CONFIG for windows `refreshing` would refuse, the message starting
 * with `who` (the server's name): for servers that must refuse them before their engine runs.
 */
export const validateWindows = (options: WindowOptions, who?: string): void => {
  resolveWindows(options, who);
};

/**
 * Served credentials always have at least this long left: kube2iam keeps the
 * same 15 minutes; the imds-shim README works through why it sits ahead of
 * every client.
 */
export const DEFAULT_MIN_REMAINING_SECONDS = 900;

/** The windows of an engine whose credentials must keep a margin. */
export interface MarginWindows {
  minRemainingSeconds: number;
  mandatoryWindowSeconds: number;
  advisoryWindowSeconds: number;
}

/**
 * The windows for a margin, the one place they are derived: callers wait for
 * a refresh from a minute before the margin, background refreshes start five
 * minutes before it. The engine shrinks them for sessions too short to hold them.
 */
export const windowsFor = (minRemainingSeconds: number): MarginWindows => ({
  minRemainingSeconds,
  mandatoryWindowSeconds: minRemainingSeconds + 60,
  advisoryWindowSeconds: minRemainingSeconds + 300,
});

/** `resolveWindows` once: the windows, or the configuration error every later call reports. */
export const windowsOnce = (options: WindowOptions): (() => EngineSettings | CredbridgeError) => {
  let result: EngineSettings | CredbridgeError | undefined;
  return () => {
    if (result === undefined) {
      try {
        result = resolveWindows(options);
      } catch (error) {
        result = error as CredbridgeError;
      }
    }
    return result;
  };
};

/** When a credential must be refreshed, derived once when it is fetched. */
export interface Schedule {
  /** Start of the advisory window (jitter included): refresh in the background from here. */
  refreshAt: number;
  /** Start of the mandatory window: callers wait for a refresh from here. */
  mandatoryAt: number;
  /** Never served at or after this moment (expiration less the minimum remaining life). */
  usableUntil: number;
}

export interface ScheduleOptions {
  advisoryMs: number;
  mandatoryMs: number;
  minRemainingMs: number;
  jitterMs: number;
}

/**
 * Places the windows for a credential fetched at `now` and expiring at `expiresAt`.
 *
 * Long-lived credentials get the configured windows. When the usable life (the
 * lifetime less `minRemainingMs`) is too short for them, the windows shrink to a
 * fraction of it: the background refresh starts halfway and callers block from
 * three quarters on, so a short credential is refreshed a few times in its life,
 * never on every call. Jitter delays the advisory start by up to `jitterMs` but
 * never past halfway to the mandatory window, so refreshes across a fleet spread
 * out without ever eating into the time callers may wait.
 */
export const scheduleFor = (now: number, expiresAt: number, random: number, o: ScheduleOptions): Schedule => {
  const usableUntil = expiresAt - o.minRemainingMs;
  const usable = usableUntil - now;
  const advisory = Math.min(o.advisoryMs, o.minRemainingMs + usable / 2);
  const mandatory = Math.min(o.mandatoryMs, o.minRemainingMs + usable / 4, advisory);
  const jitter = Math.max(0, Math.min(o.jitterMs, (advisory - mandatory) / 2));
  return {
    refreshAt: expiresAt - advisory + random * jitter,
    mandatoryAt: expiresAt - mandatory,
    usableUntil,
  };
};

/** The least time between two successful refreshes, whatever the credentials. */
export const MIN_REFRESH_INTERVAL_MS = 1_000;
/** Successful refreshes per session length, at most: see {@link refreshFloorMs}. */
export const MAX_REFRESHES_PER_LIFETIME = 10;

/**
 * How long after a successful refresh the source may not be called again
 * (forced refreshes aside): a tenth of the credentials' lifetime, and at least
 * a second. Sessions that outlive the required remaining life by little (901 s
 * against a 900 s margin) would otherwise be refreshed halfway through that
 * second of usable life, over and over: a storm of upstream calls, every one
 * of them successful. Well-configured sessions are refreshed long after this
 * (a 1 h session with a 15 min margin, at 22 minutes at the earliest; this
 * floor is 6); short ones are not served for part of their life, which the
 * engine says in its log.
 */
export const refreshFloorMs = (now: number, expiresAt: number | undefined): number =>
  expiresAt === undefined
    ? MIN_REFRESH_INTERVAL_MS
    : Math.max(MIN_REFRESH_INTERVAL_MS, (expiresAt - now) / MAX_REFRESHES_PER_LIFETIME);

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
