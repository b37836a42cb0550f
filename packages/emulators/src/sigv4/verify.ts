import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { SIGV4_ALGORITHM, type SigV4Auth } from "./header.js";

/** What of a received request went into its signature. */
export interface ReceivedRequest {
  method: string;
  /** Path as received, still percent-encoded, without the query. */
  path: string;
  /** Query string as received, without the `?`. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The signed parts of `req` exactly as they arrived: the path unnormalised, the query unparsed. */
export const receivedRequest = (req: IncomingMessage, url: URL, body: Buffer): ReceivedRequest => ({
  method: req.method ?? "",
  path: (req.url ?? "/").split("?")[0]!,
  rawQuery: url.search.slice(1),
  headers: req.headers,
  body,
});

const sha256Hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();

/** RFC 3986 encoding, as SigV4 wants: encodeURIComponent leaves `!'()*` alone. */
const encodeRfc3986 = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Decodes leniently: a bad escape is kept as it came rather than failing the request. */
const decode = (text: string): string => {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
};

// Non-S3 services encode each (already encoded) path segment once more; S3
// signs the path exactly as sent (aws-sdk-go's DisableURIPathEscaping).
const canonicalPath = (path: string, service: string): string =>
  service === "s3" ? path || "/" : path.split("/").map(encodeRfc3986).join("/") || "/";

const canonicalQuery = (rawQuery: string): string =>
  rawQuery
    .split("&")
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const eq = pair.indexOf("=");
      const key = decode(eq === -1 ? pair : pair.slice(0, eq));
      const value = eq === -1 ? "" : decode(pair.slice(eq + 1));
      return [encodeRfc3986(key), encodeRfc3986(value)] as const;
    })
    .filter(([key]) => key !== "X-Amz-Signature")
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");

const headerValue = (headers: IncomingHttpHeaders, name: string): string => {
  const value = headers[name];
  const joined = Array.isArray(value) ? value.join(",") : (value ?? "");
  return joined.trim().replace(/\s+/g, " ");
};

const queryParam = (rawQuery: string, name: string): string | undefined =>
  new URLSearchParams(rawQuery).get(name) ?? undefined;

/**
 * Recomputes a SigV4 signature with the signer's secret and compares it with
 * the one received. Proves a client holds the secret of the key it claims —
 * the key id alone is public.
 */
export const verifySigV4 = (request: ReceivedRequest, auth: SigV4Auth, secretAccessKey: string): boolean => {
  const amzDate =
    auth.location === "query"
      ? queryParam(request.rawQuery, "X-Amz-Date")
      : headerValue(request.headers, "x-amz-date") || headerValue(request.headers, "date");
  if (!amzDate) return false;
  // A presigned S3 URL signs no payload: the body is not known when the URL is made.
  const payloadHash =
    auth.service === "s3" && auth.location === "query"
      ? "UNSIGNED-PAYLOAD"
      : headerValue(request.headers, "x-amz-content-sha256") || sha256Hex(request.body);
  const signedHeaders = [...auth.signedHeaders].sort();
  const canonicalRequest = [
    request.method,
    canonicalPath(request.path, auth.service),
    canonicalQuery(request.rawQuery),
    signedHeaders.map((name) => `${name}:${headerValue(request.headers, name)}\n`).join(""),
    signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const key = hmac(
    hmac(hmac(hmac(`AWS4${secretAccessKey}`, auth.date), auth.region), auth.service),
    "aws4_request",
  );
  const expected = Buffer.from(createHmac("sha256", key).update(stringToSign).digest("hex"));
  const received = Buffer.from(auth.signature.toLowerCase());
  return expected.length === received.length && timingSafeEqual(expected, received);
};
