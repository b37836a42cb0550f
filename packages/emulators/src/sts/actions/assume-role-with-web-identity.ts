import { children, el } from "../../internal/xml.js";
import { audiences, decodeJwtClaims } from "../../jwt.js";
import { StsError } from "../errors.js";
import { checkMaxSessionDuration, webIdentityTrustFailure } from "../trust.js";
import { DEFAULT_DURATION_SECONDS, validateWebIdentityInput } from "../validate.js";
import type { ActionHandler } from "./context.js";
import { assumedRoleUserXml, credentialsXml, packedPolicySizeXml } from "./credentials-xml.js";

const withoutScheme = (url: string): string => url.replace(/^https?:\/\//, "");

/**
 * `AssumeRoleWithWebIdentity`: unsigned; the token is decoded, never verified,
 * then its expiry, the registered OIDC providers and the role's trust decide.
 */
export const assumeRoleWithWebIdentity: ActionHandler = (context) => {
  const { params } = context;
  const input = validateWebIdentityInput(params);
  let claims: ReturnType<typeof decodeJwtClaims>;
  try {
    claims = decodeJwtClaims(input.token);
  } catch {
    throw new StsError(
      "InvalidIdentityToken",
      "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
    );
  }
  if (claims.iss === undefined) throw new StsError("InvalidIdentityToken", "Missing a required claim: iss");
  if (
    context.oidcProviders !== undefined &&
    !context.oidcProviders.some((p) => withoutScheme(p) === withoutScheme(claims.iss!))
  ) {
    throw new StsError(
      "InvalidIdentityToken",
      `No OpenIDConnect provider found in your account for ${claims.iss}`,
    );
  }
  if (claims.exp === undefined) throw new StsError("InvalidIdentityToken", "Missing a required claim: exp");
  const nowSeconds = Math.floor(context.now / 1000);
  if (nowSeconds >= claims.exp) {
    // STS's wording, missing space included.
    throw new StsError(
      "ExpiredTokenException",
      `Token expired: current date/time ${nowSeconds} must be before the expiration date/time${claims.exp}`,
    );
  }
  const trust = context.roles[input.roleArn];
  if (webIdentityTrustFailure(trust, claims) !== undefined) {
    throw new StsError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  }
  const requested = input.durationSeconds ?? DEFAULT_DURATION_SECONDS;
  checkMaxSessionDuration(trust, requested);
  const issued = context.sessions.issue({
    roleArn: input.roleArn,
    sessionName: input.sessionName,
    lifetimeSeconds: context.lifetimeSeconds(input.durationSeconds),
    issuedBy: "AssumeRoleWithWebIdentity",
  });
  context.onIssued(issued);
  const audience = audiences(claims)[0];
  return children(
    claims.sub === undefined ? undefined : el("SubjectFromWebIdentityToken", claims.sub),
    audience === undefined ? undefined : el("Audience", audience),
    assumedRoleUserXml(issued),
    credentialsXml(issued),
    packedPolicySizeXml(params),
    el("Provider", withoutScheme(claims.iss)),
  );
};
