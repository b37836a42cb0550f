import type { RoleHop } from "@credbridge/core";
import { UsageError } from "./usage-error.js";

const KEYS = new Set(["external-id", "session-name", "duration"]);

/** STS's RoleSessionName: 2 to 64 of these. */
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
/** STS's ExternalId: 2 to 1224 of these. */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
/** STS's AssumeRole DurationSeconds: 15 minutes to 12 hours (capped at an hour when chaining roles). */
export const MIN_DURATION_SECONDS = 900;
export const MAX_DURATION_SECONDS = 43_200;

/**
 * `ARN[,external-id=ID][,session-name=NAME][,duration=SECONDS]` → one hop of a chain.
 * `name` is what errors call the setting: the flag, or the webhook's annotation.
 */
export const parseAssumeRole = (spec: string, command: string, name = "--assume-role"): RoleHop => {
  const [roleArn, ...parts] = spec.split(",");
  if (!roleArn?.startsWith("arn:")) {
    throw new UsageError(
      `${name} "${spec.split(",")[0]!.slice(0, 120)}" must start with a role ARN (arn:aws:iam::<account>:role/<name>)`,
      command,
    );
  }
  const hop: { -readonly [K in keyof RoleHop]: RoleHop[K] } = { roleArn };
  for (const part of parts) {
    const eq = part.indexOf("=");
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (eq < 1 || !KEYS.has(key) || value === "") {
      throw new UsageError(
        // Named by its key alone: the value may be a misspelt option's external id.
        `${name} "${roleArn}": ${eq < 1 ? "an option without KEY=" : `"${key.slice(0, 40)}=${value === "" ? "" : "…"}"`} is not one of external-id=ID, session-name=NAME, duration=SECONDS`,
        command,
      );
    }
    // Checked as parsed, the same for every hop wherever it is given (--assume-role,
    // --profile-assume-role, the webhook's annotations), so STS never has to refuse it.
    if (key === "external-id") {
      // Not echoed: an external id is the one value a hop word holds that its role's trust checks.
      if (!EXTERNAL_ID.test(value)) {
        throw new UsageError(
          `${name} "${roleArn}": external-id must be 2 to 1224 letters, digits or any of _+=,.@:/- (STS's ExternalId); the one given (${value.length} characters) is not`,
          command,
        );
      }
      hop.externalId = value;
    } else if (key === "session-name") {
      if (!SESSION_NAME.test(value)) {
        throw new UsageError(
          `${name} "${roleArn}": session-name must be 2 to 64 letters, digits or any of _+=,.@- (STS's RoleSessionName), got ${JSON.stringify(value.length > 70 ? `${value.slice(0, 64)}…` : value)}${value.length > 70 ? ` (${value.length} characters)` : ""}`,
          command,
        );
      }
      hop.roleSessionName = value;
    } else {
      const seconds = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
      if (!(seconds >= MIN_DURATION_SECONDS && seconds <= MAX_DURATION_SECONDS)) {
        throw new UsageError(
          `${name} "${roleArn}": duration must be whole seconds from ${MIN_DURATION_SECONDS} to ${MAX_DURATION_SECONDS} (STS's AssumeRole), got "${value.slice(0, 20)}"`,
          command,
        );
      }
      hop.durationSeconds = seconds;
    }
  }
  return hop;
};
