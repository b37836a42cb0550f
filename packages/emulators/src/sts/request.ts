import type { IncomingMessage } from "node:http";
import { SigV4Error } from "../sigv4/errors.js";
import { parseAuthorizationHeader, parsePresignedQuery, type SigV4Auth } from "../sigv4/header.js";
import { type ReceivedRequest, receivedRequest } from "../sigv4/verify.js";
import { StsError } from "./errors.js";

const REDACTED = "<redacted>";

/** A query-protocol request, parsed once: parameters, signature and what was signed. */
export interface StsRequest {
  /** First value of each field. */
  params: Record<string, string>;
  /** The same, safe to log: `WebIdentityToken` redacted. */
  loggable: Record<string, string>;
  /** The signature, when there was a well-formed one. */
  auth: SigV4Auth | undefined;
  /** Why the signature could not be parsed; answered only by actions that need a signer. */
  authError: StsError | undefined;
  securityToken: string | undefined;
  received: ReceivedRequest;
}

const firstValues = (fields: URLSearchParams, redact: boolean): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [key, value] of fields) {
    if (!Object.hasOwn(out, key)) out[key] = redact && key === "WebIdentityToken" ? REDACTED : value;
  }
  return out;
};

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Reads parameters from a form-encoded POST body or, for GET, the query string,
 * and the SigV4 signature from the `Authorization` header or a presigned query.
 * Throws an {@link StsError} for a POST that is not form-encoded.
 */
export const parseStsRequest = (req: IncomingMessage, url: URL, body: Buffer): StsRequest => {
  const method = req.method ?? "";
  let fields: URLSearchParams;
  if (method === "POST") {
    const contentType = (header(req, "content-type") ?? "").toLowerCase();
    if (!contentType.startsWith("application/x-www-form-urlencoded")) {
      throw new StsError(
        "ValidationError",
        `Unsupported Content-Type '${contentType}': the query protocol posts application/x-www-form-urlencoded`,
      );
    }
    fields = new URLSearchParams(body.toString("utf8"));
  } else {
    fields = url.searchParams;
  }

  let auth: SigV4Auth | undefined;
  let authError: StsError | undefined;
  try {
    const authorization = header(req, "authorization");
    auth =
      authorization !== undefined
        ? parseAuthorizationHeader(authorization, "sts")
        : parsePresignedQuery(url.searchParams, "sts");
  } catch (error) {
    if (!(error instanceof SigV4Error)) throw error;
    authError = new StsError(error.code, error.message);
  }

  return {
    params: firstValues(fields, false),
    loggable: firstValues(fields, true),
    auth,
    authError,
    securityToken:
      header(req, "x-amz-security-token") ?? url.searchParams.get("X-Amz-Security-Token") ?? undefined,
    received: receivedRequest(req, url, body),
  };
};
