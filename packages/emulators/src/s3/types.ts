import type { PayloadSigning, SessionLookup } from "./authenticate.js";

export interface StartS3FrontOptions {
  /** The S3 that stores the objects, e.g. moto_server's URL. Checked requests are forwarded there. */
  upstream: string;
  /**
   * Finds the credentials an access key was issued with. Pass the STS
   * emulator's `session` (Pod Identity agent emulators minting through that
   * emulator are covered too).
   */
  sessions: SessionLookup;
  /** Milliseconds since the epoch; decides when a session has expired. Default `Date.now`. */
  now?: () => number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Larger request bodies are refused with EntityTooLarge. Default 64 MiB. */
  maxBodyBytes?: number;
}

/** One request as the front saw it. Holds no secret: no token, no signature, no query. */
export interface S3FrontRequest {
  method: string;
  /** Path without the query, e.g. `/bucket/docker/registry/v2/blobs/…/data`. */
  path: string;
  /**
   * The S3 operation called (`PutObject`, `UploadPart`, `ListObjects`, ...), from
   * the method, the path's shape, the query's parameter names and the copy-source
   * header; `Unknown` when none matches.
   */
  operation: string;
  /** The access key id the request claimed to be signed with, when it had a parsable signature. */
  accessKeyId?: string;
  /** The client's User-Agent, when sent: an SDK names its version there (`aws-sdk-go/1.15.11 …`). */
  userAgent?: string;
  /** How the payload was signed: its SHA-256, `UNSIGNED-PAYLOAD`, aws-chunked streaming, presigned. */
  payload: PayloadSigning;
  /** HTTP status sent; 0 while pending. */
  status: number;
  /** S3 error code when the front refused the request itself (not set for upstream answers). */
  code?: string;
  /** Whether the request reached the upstream S3. */
  forwarded: boolean;
  requestId: string;
  /** Arrival, milliseconds since the epoch on the front's clock. */
  at: number;
}

export interface S3Front {
  /** `http://127.0.0.1:<port>`: the endpoint for an S3 client (path-style). */
  readonly url: string;
  readonly requests: readonly S3FrontRequest[];
  /** Forget the request log. */
  reset(): void;
  close(): Promise<void>;
}
