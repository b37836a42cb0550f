import { CredbridgeError } from "../errors.js";
import type { ScheduleOptions } from "./schedule.js";

/** The window options of `refreshing`, in seconds as the user gives them. */
export interface WindowOptions {
  advisoryWindowSeconds?: number | undefined;
  mandatoryWindowSeconds?: number | undefined;
  minRemainingSeconds?: number | undefined;
  jitterSeconds?: number | undefined;
}

const DEFAULTS = {
  advisoryWindowSeconds: 900,
  mandatoryWindowSeconds: 600,
  minRemainingSeconds: 0,
  jitterSeconds: 60,
} as const;

const milliseconds = (options: WindowOptions, name: keyof WindowOptions): number => {
  const value = options[name];
  const seconds = value ?? DEFAULTS[name];
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    throw new CredbridgeError(`refreshing: ${name} must be a non-negative number of seconds, got ${value}`, {
      code: "ERR_CONFIG",
    });
  }
  return seconds * 1000;
};

/**
 * Checks the windows once, before any upstream call: bad options are a
 * configuration error (ERR_CONFIG), never a refresh failure to retry.
 */
export const resolveWindows = (options: WindowOptions): ScheduleOptions => {
  const advisoryMs = milliseconds(options, "advisoryWindowSeconds");
  const mandatoryMs = milliseconds(options, "mandatoryWindowSeconds");
  const minRemainingMs = milliseconds(options, "minRemainingSeconds");
  const jitterMs = milliseconds(options, "jitterSeconds");
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
  return { advisoryMs, mandatoryMs, minRemainingMs, jitterMs };
};

/** `resolveWindows` once: the windows, or the configuration error every later call reports. */
export const windowsOnce = (options: WindowOptions): (() => ScheduleOptions | CredbridgeError) => {
  let result: ScheduleOptions | CredbridgeError | undefined;
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
