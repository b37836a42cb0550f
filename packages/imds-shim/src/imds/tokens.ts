import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The TTL bounds EC2 enforces on `PUT /latest/api/token`, in seconds. */
export const MIN_TOKEN_TTL_SECONDS = 1;
export const MAX_TOKEN_TTL_SECONDS = 21_600;

/** Requested on the token PUT and echoed on its response. */
export const TOKEN_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
/** Carries the token on every other request. */
export const TOKEN_HEADER = "x-aws-ec2-metadata-token";

export type TokenVerdict = "valid" | "invalid" | "expired";

export interface TokenIssuer {
  /** A new token valid for `ttlSeconds` (already checked against the bounds). */
  issue(ttlSeconds: number): string;
  verify(token: string): TokenVerdict;
}

const VERSION = 1;
const NONCE_BYTES = 16;
const MAC_BYTES = 32;
// version (1) | expiry in ms since the epoch (6, big-endian) | nonce (16) | HMAC-SHA256 of the rest (32)
const PAYLOAD_BYTES = 1 + 6 + NONCE_BYTES;
const TOKEN_BYTES = PAYLOAD_BYTES + MAC_BYTES;
const TOKEN_CHARS = Math.ceil((TOKEN_BYTES * 4) / 3);
const VERIFIED_CACHE_SIZE = 1024;

/**
 * IMDSv2 session tokens without a token store: each token carries its own
 * expiry and a random nonce, authenticated by an HMAC under a 256-bit key drawn
 * when the issuer is created (one per server). Verifying recomputes the HMAC.
 *
 * Why stateless: memory is bounded by construction, so a flood of token PUTs
 * costs CPU only; a store would need a cap and an eviction rule, and evicting
 * live tokens under a flood would log out honest clients. What it gives up is
 * revoking a single token before its TTL, which EC2 does not offer either. A
 * restarted server draws a new key, so old tokens get 401 and the SDKs fetch a
 * new one, as after an instance reboot.
 */
export const createTokenIssuer = (now: () => number, key: Buffer = randomBytes(32)): TokenIssuer => {
  const mac = (payload: Buffer): Buffer => createHmac("sha256", key).update(payload).digest();

  const issue = (ttlSeconds: number): string => {
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    payload.writeUInt8(VERSION, 0);
    payload.writeUIntBE(now() + ttlSeconds * 1000, 1, 6);
    randomBytes(NONCE_BYTES).copy(payload, 7);
    return Buffer.concat([payload, mac(payload)]).toString("base64url");
  };

  // Verified tokens and their expiry, so a client reusing its token (all SDKs do)
  // costs a map lookup, not an HMAC. Only valid tokens enter, and the map is
  // emptied when full: bounded whatever the traffic, and correct on any miss.
  const verified = new Map<string, number>();

  const verify = (token: string): TokenVerdict => {
    const known = verified.get(token);
    if (known !== undefined) return known > now() ? "valid" : "expired";
    const verdict = verifyMac(token);
    if (typeof verdict === "number") {
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear();
      verified.set(token, verdict);
      return verdict > now() ? "valid" : "expired";
    }
    return verdict;
  };

  /** The token's expiry when its MAC is ours, else "invalid". */
  const verifyMac = (token: string): number | "invalid" => {
    if (token.length !== TOKEN_CHARS) return "invalid";
    const bytes = Buffer.from(token, "base64url");
    // Node's decoder skips characters outside the alphabet: insist on the canonical form.
    if (bytes.length !== TOKEN_BYTES || bytes.toString("base64url") !== token) return "invalid";
    const payload = bytes.subarray(0, PAYLOAD_BYTES);
    if (!timingSafeEqual(bytes.subarray(PAYLOAD_BYTES), mac(payload))) return "invalid";
    if (payload.readUInt8(0) !== VERSION) return "invalid";
    return payload.readUIntBE(1, 6);
  };

  return { issue, verify };
};

/** The TTL a token PUT asked for, or undefined when missing, not an integer, or out of bounds. */
export const parseTokenTtl = (header: string | string[] | undefined): number | undefined => {
  if (typeof header !== "string" || !/^\d{1,5}$/.test(header)) return undefined;
  const ttl = Number(header);
  return ttl >= MIN_TOKEN_TTL_SECONDS && ttl <= MAX_TOKEN_TTL_SECONDS ? ttl : undefined;
};
