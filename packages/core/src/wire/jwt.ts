/**
 * Decoding (never verifying) a web identity token: what doctor shows and what
 * the STS emulator checks, by one rule.
 */

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
