import { audiences, type JwtClaims } from "../jwt.js";
import { StsError } from "./errors.js";
import type { CallerIdentity } from "./identity.js";

/**
 * A role's trust policy, reduced to what tests need. A role without rules trusts
 * everyone; each list given must match, and an absent list does not constrain.
 * Patterns may use `*` and `?` like IAM's `StringLike`.
 */
export interface RoleTrust {
  /** Web identity `sub` claims allowed (e.g. `system:serviceaccount:ns:*`). */
  trustedSubjects?: string[];
  /** Web identity `aud` values allowed; any one of the token's audiences must match. */
  trustedAudiences?: string[];
  /** Web identity issuers (`iss`, with or without `https://`) allowed. */
  trustedIssuers?: string[];
  /**
   * Principals allowed to AssumeRole: a role ARN (any of its sessions), a
   * session, user or root ARN, a 12-digit account id (anyone in it), or `*`.
   */
  trustedPrincipals?: string[];
  /**
   * Whether the role's own sessions may assume it. `false` reproduces the
   * self-assume gotcha (the trust policy does not name the role itself);
   * `true` allows it even when `trustedPrincipals` does not list the role.
   */
  trustsSelf?: boolean;
  /** The role's MaxSessionDuration: longer DurationSeconds fail with ValidationError. */
  maxSessionDurationSeconds?: number;
}

const globToRegExp = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")))
      .join("")}$`,
  );

const matchesAny = (patterns: readonly string[], value: string | undefined): boolean =>
  value !== undefined && patterns.some((p) => globToRegExp(p).test(value));

const withoutScheme = (url: string): string => url.replace(/^https?:\/\//, "");

/** Why a web identity token does not satisfy a role's trust, or undefined when it does. */
export const webIdentityTrustFailure = (
  trust: RoleTrust | undefined,
  claims: JwtClaims,
): string | undefined => {
  if (!trust) return undefined;
  if (
    trust.trustedIssuers &&
    !matchesAny(trust.trustedIssuers.map(withoutScheme), withoutScheme(claims.iss ?? ""))
  ) {
    return "issuer";
  }
  if (trust.trustedSubjects && !matchesAny(trust.trustedSubjects, claims.sub)) return "subject";
  if (trust.trustedAudiences && !audiences(claims).some((aud) => matchesAny(trust.trustedAudiences!, aud))) {
    return "audience";
  }
  return undefined;
};

/** Whether the caller may AssumeRole into `roleArn` under the role's trust. */
export const assumeRoleTrusted = (
  trust: RoleTrust | undefined,
  roleArn: string,
  caller: CallerIdentity,
): boolean => {
  if (!trust) return true;
  const self = caller.roleArn === roleArn;
  if (self && trust.trustsSelf !== undefined) return trust.trustsSelf;
  if (!trust.trustedPrincipals) return true;
  const candidates = [caller.arn, caller.roleArn, caller.accountId, `arn:aws:iam::${caller.accountId}:root`];
  return trust.trustedPrincipals.some(
    (p) => p === "*" || candidates.some((c) => c !== undefined && matchesAny([p], c)),
  );
};

/** A role's MaxSessionDuration, as STS enforces it for every way of assuming the role. */
export const checkMaxSessionDuration = (trust: RoleTrust | undefined, requested: number): void => {
  if (trust?.maxSessionDurationSeconds !== undefined && requested > trust.maxSessionDurationSeconds) {
    throw new StsError(
      "ValidationError",
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
  }
};
