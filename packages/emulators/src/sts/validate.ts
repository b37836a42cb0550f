import { parseRoleArn, type RoleArn } from "@credbridge/core/wire";
import { StsError } from "./errors.js";

const SESSION_NAME = /^[\w+=,.@-]*$/;
export const MIN_DURATION_SECONDS = 900;
export const MAX_DURATION_SECONDS = 43_200;
export const DEFAULT_DURATION_SECONDS = 3600;

type Params = Readonly<Record<string, string>>;

/**
 * Collects constraint violations the way STS words them: "1 validation error
 * detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: …",
 * all violations in one message.
 */
class Violations {
  readonly #messages: string[] = [];

  add(value: string | undefined, member: string, constraint: string): void {
    const shown = value === undefined ? "null" : `'${value}'`;
    this.#messages.push(`Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`);
  }

  throwIfAny(): void {
    const n = this.#messages.length;
    if (n === 0) return;
    throw new StsError(
      "ValidationError",
      `${n} validation error${n === 1 ? "" : "s"} detected: ${this.#messages.join("; ")}`,
    );
  }
}

const checkLength = (v: Violations, value: string | undefined, member: string, min: number, max: number) => {
  if (value === undefined) return v.add(value, member, "Member must not be null");
  if (value.length < min) v.add(value, member, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) v.add(value, member, `Member must have length less than or equal to ${max}`);
};

/** The validated inputs common to AssumeRole and AssumeRoleWithWebIdentity. */
export interface AssumeInput {
  roleArn: string;
  role: RoleArn;
  sessionName: string;
  /** As requested; undefined when the caller left it to the default. */
  durationSeconds: number | undefined;
}

/** Checks RoleArn, RoleSessionName, DurationSeconds and Policy as STS does. */
export const validateAssumeInput = (params: Params, extra?: (v: Violations) => void): AssumeInput => {
  const v = new Violations();
  const roleArn = params.RoleArn;
  const sessionName = params.RoleSessionName;
  checkLength(v, roleArn, "roleArn", 20, 2048);
  checkLength(v, sessionName, "roleSessionName", 2, 64);
  if (sessionName !== undefined && !SESSION_NAME.test(sessionName)) {
    v.add(sessionName, "roleSessionName", "Member must satisfy regular expression pattern: [\\w+=,.@-]*");
  }
  let durationSeconds: number | undefined;
  const rawDuration = params.DurationSeconds;
  if (rawDuration !== undefined) {
    durationSeconds = /^-?\d+$/.test(rawDuration) ? Number(rawDuration) : Number.NaN;
    if (Number.isNaN(durationSeconds)) {
      throw new StsError("ValidationError", `Invalid value for parameter DurationSeconds: '${rawDuration}'`);
    }
    if (durationSeconds < MIN_DURATION_SECONDS) {
      v.add(
        rawDuration,
        "durationSeconds",
        `Member must have value greater than or equal to ${MIN_DURATION_SECONDS}`,
      );
    }
    if (durationSeconds > MAX_DURATION_SECONDS) {
      v.add(
        rawDuration,
        "durationSeconds",
        `Member must have value less than or equal to ${MAX_DURATION_SECONDS}`,
      );
    }
  }
  if (params.Policy !== undefined) checkLength(v, params.Policy, "policy", 1, 2048);
  extra?.(v);
  v.throwIfAny();
  const role = parseRoleArn(roleArn!);
  if (!role) throw new StsError("ValidationError", "Request ARN is invalid");
  if (params.Policy !== undefined) {
    try {
      const policy: unknown = JSON.parse(params.Policy);
      if (typeof policy !== "object" || policy === null) throw new Error("not an object");
    } catch {
      throw new StsError("MalformedPolicyDocument", "The policy is not in the valid JSON format.");
    }
  }
  return { roleArn: roleArn!, role, sessionName: sessionName!, durationSeconds };
};

/** AssumeRoleWithWebIdentity adds the token: 4..20000 characters. */
export const validateWebIdentityInput = (params: Params): AssumeInput & { token: string } => {
  const input = validateAssumeInput(params, (v) =>
    checkLength(v, params.WebIdentityToken, "webIdentityToken", 4, 20_000),
  );
  return { ...input, token: params.WebIdentityToken! };
};

export type { Violations };
