import { createHash } from "node:crypto";
import { SigV4Error } from "../sigv4/errors.js";
import { parseAuthorizationHeader, parsePresignedQuery, type SigV4Auth } from "../sigv4/header.js";
import { type ReceivedRequest, verifySigV4 } from "../sigv4/verify.js";
import { S3Error } from "./errors.js";

/** What the front needs to know of a session to check a request signed with it. */
export interface S3Session {
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** Finds the session an access key was issued with: `StsEmulator.session` fits. */
export type SessionLookup = (accessKeyId: string) => S3Session | undefined;

export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
const SHA256_HEX = /^[0-9a-f]{64}$/;

const header = (request: ReceivedRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** How a request's payload was signed, from its `x-amz-content-sha256` (or a presigned query). */
export type PayloadSigning = "sha256" | "unsigned" | "streaming" | "presigned" | "none";

export const payloadSigning = (request: Pick<ReceivedRequest, "headers" | "rawQuery">): PayloadSigning => {
  if (new URLSearchParams(request.rawQuery).has("X-Amz-Signature")) return "presigned";
  const value = request.headers["x-amz-content-sha256"];
  const declared = Array.isArray(value) ? value[0] : value;
  if (declared === undefined) return "none";
  if (declared === UNSIGNED_PAYLOAD) return "unsigned";
  return declared.startsWith("STREAMING-") ? "streaming" : "sha256";
};

const parseSignature = (request: ReceivedRequest): SigV4Auth => {
  const authorization = header(request, "authorization");
  try {
    const auth =
      authorization !== undefined
        ? parseAuthorizationHeader(authorization, "s3")
        : parsePresignedQuery(new URLSearchParams(request.rawQuery), "s3");
    if (auth === undefined)
      throw new S3Error("AccessDenied", "Anonymous access is forbidden for this bucket");
    return auth;
  } catch (error) {
    if (!(error instanceof SigV4Error)) throw error;
    throw error.code === "SignatureDoesNotMatch"
      ? new S3Error("SignatureDoesNotMatch", error.message)
      : new S3Error("AuthorizationHeaderMalformed", error.message);
  }
};

/**
 * S3's payload rules for a header-signed request: `x-amz-content-sha256` is
 * required and is either a hash the body must match or `UNSIGNED-PAYLOAD`.
 * aws-chunked streaming (`STREAMING-…`) is refused as not implemented: no
 * client this front serves (aws-sdk-go v1) sends it.
 */
const checkPayload = (request: ReceivedRequest, auth: SigV4Auth): void => {
  if (auth.location === "query") return;
  const declared = header(request, "x-amz-content-sha256");
  if (declared === undefined) {
    throw new S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
  }
  if (declared === UNSIGNED_PAYLOAD) return;
  if (declared.startsWith("STREAMING-")) {
    throw new S3Error(
      "NotImplemented",
      `x-amz-content-sha256 '${declared}' (aws-chunked streaming) is not supported by this S3 front`,
    );
  }
  if (!SHA256_HEX.test(declared)) {
    throw new S3Error(
      "InvalidArgument",
      "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.",
    );
  }
  if (createHash("sha256").update(request.body).digest("hex") !== declared) {
    throw new S3Error("XAmzContentSHA256Mismatch");
  }
};

/**
 * Checks a request as S3 does for temporary credentials and returns the access
 * key that signed it: a key the lookup does not know is `InvalidAccessKeyId`
 * (403), a missing session token too, a wrong one `InvalidToken` (400), an
 * expired session `ExpiredToken` (400) — the code aws-sdk-go v1 reacts to by
 * expiring its credentials and retrying — and a signature the session's
 * secret does not reproduce `SignatureDoesNotMatch` (403).
 */
export const authenticateS3Request = (
  request: ReceivedRequest,
  lookup: SessionLookup,
  now: number,
): string => {
  const auth = parseSignature(request);
  const session = lookup(auth.accessKeyId);
  const token =
    header(request, "x-amz-security-token") ??
    new URLSearchParams(request.rawQuery).get("X-Amz-Security-Token") ??
    undefined;
  if (session === undefined || token === undefined) {
    throw new S3Error("InvalidAccessKeyId", undefined, { AWSAccessKeyId: auth.accessKeyId });
  }
  if (token !== session.sessionToken) throw new S3Error("InvalidToken");
  if (now >= session.expiration.getTime()) throw new S3Error("ExpiredToken");
  if (!verifySigV4(request, auth, session.secretAccessKey)) {
    throw new S3Error("SignatureDoesNotMatch", undefined, { AWSAccessKeyId: auth.accessKeyId });
  }
  checkPayload(request, auth);
  return auth.accessKeyId;
};
