import { describe, expect, it } from "vitest";
import type { CallerIdentity } from "./identity.js";
import { assumeRoleTrusted, webIdentityTrustFailure } from "./trust.js";

const ROLE = "arn:aws:iam::111122223333:role/app";
const session: CallerIdentity = {
  accessKeyId: "ASIA0000000000000000",
  arn: "arn:aws:sts::111122223333:assumed-role/app/s1",
  userId: "AROAX:s1",
  accountId: "111122223333",
  roleArn: ROLE,
};
const user: CallerIdentity = {
  accessKeyId: "AKIA0000000000000000",
  arn: "arn:aws:iam::999988887777:user/ci",
  userId: "AIDAX",
  accountId: "999988887777",
};

describe("webIdentityTrustFailure", () => {
  const claims = {
    iss: "https://oidc.test/id/1",
    sub: "system:serviceaccount:prod:api",
    aud: ["sts.amazonaws.com"],
  };

  it("trusts everything without rules and with matching rules", () => {
    expect(webIdentityTrustFailure(undefined, claims)).toBeUndefined();
    expect(
      webIdentityTrustFailure(
        {
          trustedSubjects: ["system:serviceaccount:prod:*"],
          trustedAudiences: ["sts.*"],
          trustedIssuers: ["oidc.test/id/1"],
        },
        claims,
      ),
    ).toBeUndefined();
  });

  it("names the claim that does not match", () => {
    expect(webIdentityTrustFailure({ trustedSubjects: ["system:serviceaccount:dev:?pi"] }, claims)).toBe(
      "subject",
    );
    expect(webIdentityTrustFailure({ trustedAudiences: ["other"] }, claims)).toBe("audience");
    expect(webIdentityTrustFailure({ trustedIssuers: ["https://elsewhere"] }, claims)).toBe("issuer");
    // Regex characters in patterns are literal.
    expect(webIdentityTrustFailure({ trustedSubjects: ["system.serviceaccount.prod.api"] }, claims)).toBe(
      "subject",
    );
  });
});

describe("assumeRoleTrusted", () => {
  it("trusts everyone without rules", () => {
    expect(assumeRoleTrusted(undefined, ROLE, session)).toBe(true);
  });

  it("decides self-assumption by trustsSelf when given", () => {
    expect(assumeRoleTrusted({ trustsSelf: false }, ROLE, session)).toBe(false);
    expect(assumeRoleTrusted({ trustsSelf: true, trustedPrincipals: [] }, ROLE, session)).toBe(true);
    expect(assumeRoleTrusted({ trustsSelf: false }, ROLE, user)).toBe(true);
  });

  it("matches principals by role, session ARN, user ARN, account id, account root or *", () => {
    const target = "arn:aws:iam::111122223333:role/target";
    expect(assumeRoleTrusted({ trustedPrincipals: [ROLE] }, target, session)).toBe(true);
    expect(assumeRoleTrusted({ trustedPrincipals: [session.arn] }, target, session)).toBe(true);
    expect(
      assumeRoleTrusted(
        { trustedPrincipals: ["arn:aws:sts::111122223333:assumed-role/app/*"] },
        target,
        session,
      ),
    ).toBe(true);
    expect(assumeRoleTrusted({ trustedPrincipals: [user.arn] }, target, user)).toBe(true);
    expect(assumeRoleTrusted({ trustedPrincipals: ["999988887777"] }, target, user)).toBe(true);
    expect(assumeRoleTrusted({ trustedPrincipals: ["arn:aws:iam::999988887777:root"] }, target, user)).toBe(
      true,
    );
    expect(assumeRoleTrusted({ trustedPrincipals: ["*"] }, target, user)).toBe(true);
    expect(assumeRoleTrusted({ trustedPrincipals: [ROLE] }, target, user)).toBe(false);
    expect(assumeRoleTrusted({ trustedPrincipals: [] }, target, session)).toBe(false);
  });
});
