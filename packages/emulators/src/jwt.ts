import { randomBase64Url } from "./internal/ids.js";

export const DEFAULT_TOKEN_ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE0123456789";
export const DEFAULT_TOKEN_SUBJECT = "system:serviceaccount:default:app";
export const DEFAULT_TOKEN_AUDIENCE = "sts.amazonaws.com";

/** The claims STS reads from a web identity token; anything else passes through. */
export interface JwtClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  nbf?: number;
  [claim: string]: unknown;
}

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

/** Raised by {@link decodeJwtClaims} for anything that is not a decodable JWT. */
export class MalformedJwtError extends Error {
  override name = "MalformedJwtError";
}

const decodeSegment = (segment: string, what: string): Record<string, unknown> => {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(segment)) throw new MalformedJwtError(`JWT ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    throw new MalformedJwtError(`JWT ${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MalformedJwtError(`JWT ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
};

/**
 * The payload of a JWT, without verifying its signature. Throws
 * {@link MalformedJwtError} when the token is not three base64url JSON segments
 * or a registered claim has the wrong type.
 */
export const decodeJwtClaims = (token: string): JwtClaims => {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) {
    throw new MalformedJwtError("JWT must have three non-empty dot-separated segments");
  }
  decodeSegment(parts[0]!, "header");
  const claims = decodeSegment(parts[1]!, "payload");
  for (const name of ["iss", "sub"] as const) {
    if (claims[name] !== undefined && typeof claims[name] !== "string") {
      throw new MalformedJwtError(`JWT claim ${name} must be a string`);
    }
  }
  for (const name of ["exp", "iat", "nbf"] as const) {
    if (claims[name] !== undefined && typeof claims[name] !== "number") {
      throw new MalformedJwtError(`JWT claim ${name} must be a number`);
    }
  }
  const aud = claims.aud;
  if (
    aud !== undefined &&
    typeof aud !== "string" &&
    !(Array.isArray(aud) && aud.every((a) => typeof a === "string"))
  ) {
    throw new MalformedJwtError("JWT claim aud must be a string or an array of strings");
  }
  return claims as JwtClaims;
};

/** The audiences of a token as a list. */
export const audiences = (claims: JwtClaims): string[] =>
  claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
