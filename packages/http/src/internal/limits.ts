import { CredbridgeError } from "@credbridge/core";

/** Resource limits and timeouts; the defaults suit clients that give up after 1–2 s. */
export interface HttpLimits {
  /** Largest request head (request line and headers) in bytes; beyond it Node answers 431. Default 8192. */
  maxHeaderSize?: number | undefined;
  /** Largest request body in bytes. Beyond it: 413. Default 1024. */
  maxBodyBytes?: number | undefined;
  /**
   * Bytes held in memory for clients at once, across all connections: the
   * request bodies the server reads (see `readBody`), counted as they arrive,
   * and answers the kernel has not taken yet (a client that does not read).
   * When more are needed, holdings that moved no byte for a second make room
   * — such a body is answered 503 with `Retry-After`, such an answer's
   * connection is cut — and a body that still does not fit is answered 503
   * before it is read. Default 16 MiB.
   */
  maxBufferedBytes?: number | undefined;
  /** An answer must be taken by the client within this once written, or its connection is cut. Default 10 000 ms. */
  sendTimeoutMs?: number | undefined;
  /** HTTPS: a client must finish its TLS handshake within this, counted from its connection. Default 5000 ms. */
  handshakeTimeoutMs?: number | undefined;
  /** A client must send its whole request head within this (after the TLS handshake). Default 5000 ms. */
  headersTimeoutMs?: number | undefined;
  /** A client must send its whole request within this. Default 10 000 ms. */
  requestTimeoutMs?: number | undefined;
  /** A socket with no traffic for this long is closed. Default 10 000 ms. */
  idleTimeoutMs?: number | undefined;
  /** How long an idle keep-alive connection is kept. Default 5000 ms. */
  keepAliveTimeoutMs?: number | undefined;
  /**
   * Open connections at most. At the limit a new connection closes the oldest
   * one not being answered (in its handshake, sending its request, or idle);
   * only when every connection is being answered is the new one refused.
   * Default 1024.
   */
  maxConnections?: number | undefined;
  /** On `close()`, in-flight requests get this long to finish before their connections are cut. Default 5000 ms. */
  closeGraceMs?: number | undefined;
}

export type ResolvedLimits = { readonly [K in keyof HttpLimits]-?: number };

const DEFAULTS: ResolvedLimits = {
  maxHeaderSize: 8192,
  maxBodyBytes: 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  handshakeTimeoutMs: 5_000,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  sendTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  closeGraceMs: 5_000,
};

/** The limits with their defaults filled in; throws ERR_CONFIG naming a value that is not a positive integer. */
export const resolveLimits = (limits: HttpLimits): ResolvedLimits => {
  const resolved = { ...DEFAULTS };
  for (const name of Object.keys(DEFAULTS) as (keyof HttpLimits)[]) {
    const value = limits[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value <= 0) {
      throw new CredbridgeError(`${name} must be a positive integer, got ${value}`, { code: "ERR_CONFIG" });
    }
    resolved[name] = value;
  }
  if (resolved.maxBufferedBytes < resolved.maxBodyBytes) {
    throw new CredbridgeError(
      `maxBufferedBytes (${resolved.maxBufferedBytes}) must be at least maxBodyBytes (${resolved.maxBodyBytes}), or no body of the largest size is ever read`,
      { code: "ERR_CONFIG" },
    );
  }
  return resolved;
};
