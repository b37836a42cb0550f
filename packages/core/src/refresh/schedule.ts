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
