import { type CredbridgeErrorCode, isCredbridgeError } from "./errors.js";

/**
 * STS's own error codes that name a distinct fix (the ones operators search
 * for), kept verbatim. Any other code STS answers with is `ERR_STS`.
 */
const STS_CODES = [
  "AccessDenied",
  "ExpiredTokenException",
  "IDPCommunicationError",
  "IDPRejectedClaim",
  "InvalidClientTokenId",
  "InvalidIdentityToken",
  "MalformedPolicyDocument",
  "PackedPolicyTooLarge",
  "RegionDisabledException",
  "Throttling",
  "ValidationError",
] as const;

/** What other AWS services and SDKs call throttling: one class, since the fix is the same. */
const THROTTLING_ALIASES = new Set([
  "ThrottlingException",
  "ThrottledException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
]);

const CODES: readonly CredbridgeErrorCode[] = [
  "ERR_STS",
  "ERR_HTTP",
  "ERR_INVALID_RESPONSE",
  "ERR_TOKEN_FILE",
  "ERR_EXPIRED",
  "ERR_CONFIG",
  "ERR_INSECURE_URL",
];

/**
 * Every value `errorClass` returns: a closed set, so a metric labelled with it
 * has a bounded number of series and can be initialised to zero for each.
 */
export const ERROR_CLASSES = [...STS_CODES, ...CODES, "timeout", "network", "other"] as const;

export type ErrorClass = (typeof ERROR_CLASSES)[number];

const STS_CODE_SET: ReadonlySet<string> = new Set(STS_CODES);
const CODE_SET: ReadonlySet<string> = new Set(CODES);

/**
 * A failure's class, for metrics labels and alerts: STS's error code when it is
 * one of the well-known ones (`Throttling`, `AccessDenied`, …), `timeout` for
 * an upstream that did not answer in time, `network` for one that could not be
 * reached, else the credbridge error code (`ERR_TOKEN_FILE`, …), else `other`.
 * Derived from codes only, never from a message: no text a server or a path
 * chose ever becomes a label value.
 */
export const errorClass = (error: unknown): ErrorClass => {
  if (!isCredbridgeError(error)) return "other";
  if (error.code === "ERR_TIMEOUT") return "timeout";
  const service = error.serviceCode;
  if (service !== undefined) {
    if (STS_CODE_SET.has(service)) return service as ErrorClass;
    if (THROTTLING_ALIASES.has(service)) return "Throttling";
  }
  if (error.code === "ERR_HTTP" && error.statusCode === 429) return "Throttling";
  // STS never answered: no HTTP status (connection refused, reset, DNS).
  if (error.code === "ERR_STS" && error.statusCode === undefined) return "network";
  return CODE_SET.has(error.code) ? (error.code as ErrorClass) : "other";
};
