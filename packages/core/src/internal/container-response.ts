import { CredbridgeError } from "../errors.js";
import { parseRoleArn } from "../wire/arn.js";
import type { RoleSessionCredentials } from "../wire/session-identity.js";

/** Strict RFC 3339 with a Z or numeric offset, as the AWS SDKs require of `Expiration`. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const field = (body: Record<string, unknown>, name: string, where: string): string => {
  const value = body[name];
  if (typeof value !== "string" || value === "") {
    throw new CredbridgeError(`${where} answered without ${name}`, { code: "ERR_INVALID_RESPONSE" });
  }
  return value;
};

/**
 * Validates a container-credentials JSON body (ECS, EKS Pod Identity agent).
 * `AccountId` (both) and `RoleArn` (ECS only) are kept, so a server fed by it
 * names the same session.
 */
export const parseContainerCredentials = (text: string, where: string): RoleSessionCredentials => {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CredbridgeError(`${where} answered with a body that is not JSON (${text.length} bytes)`, {
      code: "ERR_INVALID_RESPONSE",
    });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new CredbridgeError(`${where} answered with JSON that is not an object`, {
      code: "ERR_INVALID_RESPONSE",
    });
  }
  const b = body as Record<string, unknown>;
  const expiration = field(b, "Expiration", where);
  const when = new Date(expiration);
  if (!RFC3339.test(expiration) || Number.isNaN(when.getTime())) {
    throw new CredbridgeError(
      `${where} answered with an Expiration that is not an RFC 3339 date: "${expiration.slice(0, 40)}"`,
      {
        code: "ERR_INVALID_RESPONSE",
      },
    );
  }
  const accountId = typeof b.AccountId === "string" && b.AccountId ? b.AccountId : undefined;
  const roleArn = typeof b.RoleArn === "string" && parseRoleArn(b.RoleArn) ? b.RoleArn : undefined;
  return {
    accessKeyId: field(b, "AccessKeyId", where),
    secretAccessKey: field(b, "SecretAccessKey", where),
    sessionToken: field(b, "Token", where),
    expiration: when,
    ...(accountId ? { accountId } : {}),
    ...(roleArn ? { roleArn } : {}),
  };
};

/** The `{Code, Message}` an ECS-style endpoint sends with an error status, if any. */
export const describeErrorBody = (text: string): string => {
  try {
    const b = JSON.parse(text) as Record<string, unknown>;
    const code = typeof b.Code === "string" ? b.Code : undefined;
    const message = typeof b.Message === "string" ? b.Message : undefined;
    if (code || message) return [code, message].filter(Boolean).join(": ").slice(0, 300);
  } catch {
    // Not JSON: say nothing of the body rather than echo arbitrary text.
  }
  return "";
};
