import { type ErrorCatalog, ServiceError } from "../internal/service-error.js";
import { el, renderXml } from "../internal/xml.js";

/** HTTP status and message of each S3 error code the front answers, as S3 words them. */
export const S3_ERRORS: ErrorCatalog = {
  AccessDenied: { status: 403, message: "Access Denied" },
  AuthorizationHeaderMalformed: { status: 400, message: "The authorization header is malformed." },
  EntityTooLarge: { status: 400, message: "Your proposed upload exceeds the maximum allowed size" },
  ExpiredToken: { status: 400, message: "The provided token has expired." },
  InternalError: { status: 500, message: "We encountered an internal error. Please try again." },
  InvalidAccessKeyId: {
    status: 403,
    message: "The AWS Access Key Id you provided does not exist in our records.",
  },
  InvalidArgument: { status: 400, message: "Invalid Argument" },
  InvalidRequest: { status: 400, message: "Invalid Request" },
  InvalidToken: { status: 400, message: "The provided token is malformed or otherwise invalid." },
  NotImplemented: {
    status: 501,
    message: "A header you provided implies functionality that is not implemented",
  },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
  },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
};

/** An S3 error answer: code, HTTP status and message, plus S3's extra elements (`AWSAccessKeyId`). */
export class S3Error extends ServiceError {
  override name = "S3Error";
  readonly details: Readonly<Record<string, string>>;

  constructor(code: string, message?: string, details: Record<string, string> = {}) {
    super(S3_ERRORS, code, message);
    this.details = details;
  }
}

/** The document S3 sends with an error (HEAD answers carry none): one line after the declaration. */
export const s3ErrorXml = (error: S3Error, requestId: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n${renderXml(
    el("Error", [
      el("Code", error.code),
      el("Message", error.message),
      ...Object.entries(error.details).map(([name, value]) => el(name, value)),
      el("RequestId", requestId),
    ]),
  )}`;
