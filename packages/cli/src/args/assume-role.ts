import type { RoleHop } from "@credbridge/core";
import { UsageError } from "./usage-error.js";

const KEYS = new Set(["external-id", "session-name", "duration"]);

/**
 * `ARN[,external-id=ID][,session-name=NAME][,duration=SECONDS]` → one hop of a chain.
 * `name` is what errors call the setting: the flag, or the webhook's annotation.
 */
export const parseAssumeRole = (spec: string, command: string, name = "--assume-role"): RoleHop => {
  const [roleArn, ...parts] = spec.split(",");
  if (!roleArn?.startsWith("arn:")) {
    throw new UsageError(
      `${name} "${spec}" must start with a role ARN (arn:aws:iam::<account>:role/<name>)`,
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
        `${name} "${roleArn}": "${part}" is not one of external-id=ID, session-name=NAME, duration=SECONDS`,
        command,
      );
    }
    if (key === "external-id") hop.externalId = value;
    else if (key === "session-name") hop.roleSessionName = value;
    else if (/^\d+$/.test(value)) hop.durationSeconds = Number(value);
    else
      throw new UsageError(`${name} "${roleArn}": duration must be whole seconds, got "${value}"`, command);
  }
  return hop;
};
