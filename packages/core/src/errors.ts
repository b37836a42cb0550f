import { CredentialsProviderError } from "@smithy/property-provider";

/** Stable codes for every failure credbridge reports. */
export type CredbridgeErrorCode =
  /** A required setting (option or environment variable) is missing or invalid. */
  | "ERR_CONFIG"
  /** A token file could not be read or is empty. */
  | "ERR_TOKEN_FILE"
  /** STS answered with an error. */
  | "ERR_STS"
  /** An HTTP credentials endpoint failed or answered with an error status. */
  | "ERR_HTTP"
  /** An endpoint answered, but with something that is not valid credentials. */
  | "ERR_INVALID_RESPONSE"
  /** A plain-http URL to a host the AWS SDKs would not trust. */
  | "ERR_INSECURE_URL"
  /** Only expired credentials are available and a refresh failed. */
  | "ERR_EXPIRED"
  /** An operation was given up after its timeout. */
  | "ERR_TIMEOUT";

const BRAND = Symbol.for("credbridge.error");

export interface CredbridgeErrorOptions {
  code: CredbridgeErrorCode;
  /** Let a `chain` try its next provider: true only for "not configured". */
  tryNextLink?: boolean;
  cause?: unknown;
  /** STS or HTTP error code, when the failure came from a service. */
  serviceCode?: string | undefined;
  /** HTTP status, when the failure came from a service. */
  statusCode?: number | undefined;
}

/**
 * Every credbridge failure. A `CredentialsProviderError`, so the AWS SDK's chains
 * treat it as theirs; the message always names what to fix and never a secret.
 */
export class CredbridgeError extends CredentialsProviderError {
  override name = "CredbridgeError";
  readonly code: CredbridgeErrorCode;
  readonly serviceCode: string | undefined;
  readonly statusCode: number | undefined;
  readonly [BRAND] = true;

  constructor(message: string, options: CredbridgeErrorOptions) {
    super(message, { tryNextLink: options.tryNextLink ?? false });
    this.code = options.code;
    this.serviceCode = options.serviceCode;
    this.statusCode = options.statusCode;
    if (options.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
    Object.setPrototypeOf(this, CredbridgeError.prototype);
  }
}

/** True for a {@link CredbridgeError}, across copies of this package. */
export const isCredbridgeError = (value: unknown): value is CredbridgeError =>
  typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
