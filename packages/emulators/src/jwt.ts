import type { JwtClaims } from "@credbridge/core/wire";
import { randomBase64Url } from "./internal/ids.js";

export const DEFAULT_TOKEN_ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE0123456789";
export const DEFAULT_TOKEN_SUBJECT = "system:serviceaccount:default:app";
export const DEFAULT_TOKEN_AUDIENCE = "sts.amazonaws.com";

export interface MintWebIdentityTokenOptions {
  /** Issuer URL. Default {@link DEFAULT_TOKEN_ISSUER}. */
  iss?: string;
  /** Subject. Default {@link DEFAULT_TOKEN_SUBJECT}. */
  sub?: string;
  /** Audience. Default {@link DEFAULT_TOKEN_AUDIENCE}. */
  aud?: string | string[];
  /** Expiry, seconds since the epoch. Default `iat` + 24 h. */
  exp?: number;
  /** Issued-at, seconds since the epoch. Default now. */
  iat?: number;
  /** Further claims, merged last (so they can override the defaults). */
  extra?: Record<string, unknown>;
  /** Milliseconds since the epoch, for deterministic `iat`/`exp`. Default `Date.now`. */
  now?: () => number;
}

const encodeSegment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * A well-formed but unsigned JWT shaped like a projected Kubernetes service
 * account token. The signature is random bytes: emulators decode, never verify.
 */
export const mintWebIdentityToken = (options: MintWebIdentityTokenOptions = {}): string => {
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  const iat = options.iat ?? nowSeconds;
  const sub = options.sub ?? DEFAULT_TOKEN_SUBJECT;
  const claims: JwtClaims = {
    aud: options.aud ?? [DEFAULT_TOKEN_AUDIENCE],
    exp: options.exp ?? iat + 24 * 3600,
    iat,
    iss: options.iss ?? DEFAULT_TOKEN_ISSUER,
    nbf: iat,
    sub,
  };
  // Kubernetes adds its own claim naming the pod's service account.
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(sub);
  if (sa) claims["kubernetes.io"] = { namespace: sa[1], serviceaccount: { name: sa[2] } };
  Object.assign(claims, options.extra);
  const header = { alg: "RS256", kid: "credbridge-emulator", typ: "JWT" };
  return `${encodeSegment(header)}.${encodeSegment(claims)}.${randomBase64Url(256)}`;
};

// Decoding lives in core, shared with `credbridge doctor`.
export { audiences, decodeJwtClaims, type JwtClaims, MalformedJwtError } from "@credbridge/core/wire";
