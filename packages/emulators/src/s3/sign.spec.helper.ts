import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import type { ReceivedRequest } from "../sigv4/verify.js";

const toBytes = (data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof data === "string"
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

/** The hash the smithy signer wants, on node:crypto. */
class Sha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash("sha256") : createHmac("sha256", toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
}

export interface TestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/**
 * Signs an S3 request the way the AWS SDKs do (the smithy signer, an
 * implementation independent of the one under test): path not re-encoded,
 * `x-amz-content-sha256` set to the body's hash or `UNSIGNED-PAYLOAD`.
 */
export const signS3 = async (
  credentials: TestCredentials,
  request: {
    method: string;
    host: string;
    path: string;
    query?: Record<string, string>;
    body?: Buffer;
    /** Declared instead of the body's hash, e.g. `UNSIGNED-PAYLOAD`. */
    contentSha256?: string;
  },
): Promise<{ headers: Record<string, string>; body: Buffer }> => {
  const body = request.body ?? Buffer.alloc(0);
  const signer = new SignatureV4({
    credentials,
    region: "us-east-1",
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
  const headers: Record<string, string> = { host: request.host };
  if (request.contentSha256 !== undefined) headers["x-amz-content-sha256"] = request.contentSha256;
  const signed = await signer.sign({
    method: request.method,
    protocol: "http:",
    hostname: request.host,
    path: request.path,
    query: request.query ?? {},
    headers,
    body,
  });
  return { headers: signed.headers, body };
};

/** What the server would have received for a signed request. */
export const received = (
  method: string,
  path: string,
  signed: { headers: Record<string, string>; body: Buffer },
  rawQuery = "",
): ReceivedRequest => ({
  method,
  path,
  rawQuery,
  headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])),
  body: signed.body,
});
