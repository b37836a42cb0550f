import { type ErrorCatalog, ServiceError } from "../internal/service-error.js";

/** HTTP status and default message of each STS error code the emulator knows. */
export const STS_ERRORS: ErrorCatalog = {
  AccessDenied: { status: 403, message: "Access denied" },
  ExpiredToken: { status: 400, message: "The security token included in the request is expired" },
  ExpiredTokenException: { status: 400, message: "Token expired" },
  IDPCommunicationError: {
    status: 400,
    message: "Couldn't retrieve verification key from your identity provider.",
  },
  IDPRejectedClaim: { status: 403, message: "Identity provider rejected the claim" },
  IncompleteSignature: { status: 400, message: "The request signature does not conform to AWS standards." },
  InternalFailure: { status: 500, message: "An internal error occurred." },
  InvalidAction: { status: 400, message: "The action or operation requested is invalid." },
  InvalidClientTokenId: { status: 403, message: "The security token included in the request is invalid." },
  InvalidIdentityToken: {
    status: 400,
    message: "The web identity token that was passed could not be validated.",
  },
  MalformedPolicyDocument: { status: 400, message: "The policy is not in the valid JSON format." },
  MissingAuthenticationToken: { status: 403, message: "Request is missing Authentication Token" },
  PackedPolicyTooLarge: { status: 400, message: "Packed policy consumes too much of the allowed space." },
  RegionDisabledException: { status: 403, message: "STS is not activated in this region." },
  ServiceUnavailable: { status: 503, message: "Service is unable to handle request." },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
  },
  Throttling: { status: 400, message: "Rate exceeded" },
  ValidationError: { status: 400, message: "1 validation error detected" },
};

/** An STS error response: code, HTTP status and message, as the wire carries them. */
export class StsError extends ServiceError {
  override name = "StsError";

  constructor(code: string, message?: string, status?: number) {
    super(STS_ERRORS, code, message, status);
  }
}
