/** The claims doctor shows. Decoded only: the signature is not (and cannot here be) verified. */
export interface TokenClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
}

export const decodeJwtClaims = (token: string): TokenClaims | undefined => {
  const payload = token.trim().split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    const pick: TokenClaims = {};
    if (typeof claims.iss === "string") pick.iss = claims.iss;
    if (typeof claims.sub === "string") pick.sub = claims.sub;
    if (typeof claims.aud === "string" || Array.isArray(claims.aud))
      pick.aud = claims.aud as string | string[];
    if (typeof claims.exp === "number") pick.exp = claims.exp;
    return pick;
  } catch {
    return undefined;
  }
};
