import { CredbridgeError } from "../errors.js";
import type { ScheduleOptions } from "./schedule.js";

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

const milliseconds = (options: WindowOptions, name: keyof WindowOptions, positive = false): number => {
  const value = options[name];
  const seconds = value ?? DEFAULTS[name];
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0 || (positive && seconds <= 0)) {
    throw new CredbridgeError(
      `refreshing: ${name} must be a ${positive ? "positive" : "non-negative"} number of seconds, got ${value}`,
      { code: "ERR_CONFIG" },
    );
  }
  return seconds * 1000;
};

/**
 * Checks the windows once, before any upstream call: bad options are a
 * configuration error (ERR_CONFIG), never a refresh failure to retry.
 */
export const resolveWindows = (options: WindowOptions): EngineSettings => {
  const advisoryMs = milliseconds(options, "advisoryWindowSeconds");
  const mandatoryMs = milliseconds(options, "mandatoryWindowSeconds");
  const minRemainingMs = milliseconds(options, "minRemainingSeconds");
  const jitterMs = milliseconds(options, "jitterSeconds");
  const attemptTimeoutMs = milliseconds(options, "attemptTimeoutSeconds", true);
  if (mandatoryMs > advisoryMs) {
    throw new CredbridgeError(
      `refreshing: mandatoryWindowSeconds (${mandatoryMs / 1000}) must not exceed advisoryWindowSeconds (${advisoryMs / 1000})`,
      { code: "ERR_CONFIG" },
    );
  }
  if (minRemainingMs > mandatoryMs) {
    throw new CredbridgeError(
      `refreshing: minRemainingSeconds (${minRemainingMs / 1000}) must not exceed mandatoryWindowSeconds (${mandatoryMs / 1000}), or callers would be refused credentials before they ever waited for new ones`,
      { code: "ERR_CONFIG" },
    );
  }
  return { advisoryMs, mandatoryMs, minRemainingMs, jitterMs, attemptTimeoutMs };
};

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
