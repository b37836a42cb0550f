import { noHomeReason } from "../env.js";
import { CredbridgeError, isCredbridgeError } from "../errors.js";

type StsAction = "AssumeRole" | "AssumeRoleWithWebIdentity" | "GetCallerIdentity";

/** The likely fix for each STS error, by action where the fix differs. */
const HINTS: Record<string, string | Partial<Record<StsAction, string>>> = {
  AccessDenied: {
    AssumeRoleWithWebIdentity:
      "check the role's trust policy: its Federated principal must be the cluster's OIDC provider, and its StringEquals conditions on ':sub' (system:serviceaccount:<namespace>:<serviceaccount>) and ':aud' (sts.amazonaws.com) must match the token's claims",
    AssumeRole:
      "check that the role's trust policy allows the calling identity (for a self-assume, the role must trust its own ARN) and that the caller may call sts:AssumeRole on it",
    GetCallerIdentity: "the calling credentials were refused",
  },
  InvalidIdentityToken:
    "STS did not accept the web-identity token: check that the cluster's OIDC issuer is registered as an IAM identity provider in this account and that the token file holds the projected service-account token",
  ExpiredTokenException:
    "the token has expired: the kubelet should rotate the projected token file; check the volume and its expirationSeconds, or the session credentials that signed the call",
  IDPRejectedClaim:
    "the identity provider's claims were rejected: check the token's audience (sts.amazonaws.com)",
  IDPCommunicationError: "STS could not reach the OIDC issuer to verify the token; retrying may help",
  InvalidClientTokenId: "the signing credentials are not valid: check the source credentials",
  Throttling:
    "STS is throttling this account: credbridge retries with backoff; raise durationSeconds to refresh less often",
  RegionDisabledException:
    "STS is not activated in this region: enable it in IAM account settings or set region",
  MalformedPolicyDocument: "the session policy is not valid JSON IAM policy",
  PackedPolicyTooLarge: "the session policy and tags are too large: shorten them",
  ValidationError:
    "check roleArn, roleSessionName and durationSeconds (a session obtained by role chaining is capped at 3600 s)",
};

/** The SDK names modeled errors after their shapes; STS's wire codes (what people search for) differ. */
const WIRE_CODE: Record<string, string> = {
  InvalidIdentityTokenException: "InvalidIdentityToken",
  IDPRejectedClaimException: "IDPRejectedClaim",
  IDPCommunicationErrorException: "IDPCommunicationError",
  MalformedPolicyDocumentException: "MalformedPolicyDocument",
  PackedPolicyTooLargeException: "PackedPolicyTooLarge",
};

const hintFor = (code: string, action: StsAction): string | undefined => {
  const hint = HINTS[code];
  return typeof hint === "string" ? hint : hint?.[action];
};

/**
 * Turns whatever the STS client threw into a CredbridgeError that names the
 * action, the role and the fix. STS error messages carry no secrets; the
 * request's token and keys are never part of what is quoted.
 */
export const toStsError = (
  error: unknown,
  action: StsAction,
  target: string,
  endpoint?: string,
): CredbridgeError => {
  if (isCredbridgeError(error)) return error;
  const e = error as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    $fault?: string;
  };
  const status = e?.$metadata?.httpStatusCode;
  const code = WIRE_CODE[e?.name ?? ""] ?? e?.name ?? "Error";
  if (code === "TimeoutError") {
    // The request was sent and STS (or a proxy) never answered: not the same fix as unreachable.
    return new CredbridgeError(
      `sts:${action} for ${target}: STS${endpoint ? ` at ${endpoint}` : ""} did not answer within the request timeout (${e?.message ?? ""})`,
      { code: "ERR_TIMEOUT", cause: error, serviceCode: code },
    );
  }
  if (status === undefined && /uv_os_homedir/.test(e?.message ?? "")) {
    // Not STS: the SDK looked for ~/.aws/config before sending, and there is no home.
    return new CredbridgeError(
      `sts:${action} for ${target} was never sent: the AWS SDK for JavaScript looks for its shared config files in the home directory, and this process has none (${noHomeReason(process.env, process.geteuid?.())}). Set HOME to any directory (it need not exist)`,
      { code: "ERR_CONFIG", cause: error, serviceCode: code },
    );
  }
  if (status === undefined && !e?.$fault) {
    return new CredbridgeError(
      `sts:${action} for ${target} could not reach STS${endpoint ? ` at ${endpoint}` : ""}: ${e?.message ?? String(error)}`,
      { code: "ERR_STS", cause: error, serviceCode: code },
    );
  }
  const hint = hintFor(code, action);
  return new CredbridgeError(
    `sts:${action} for ${target} failed with ${code}${status ? ` (HTTP ${status})` : ""}: ${e?.message ?? ""}${hint ? `. Fix: ${hint}` : ""}`,
    { code: "ERR_STS", cause: error, serviceCode: code, statusCode: status },
  );
};
