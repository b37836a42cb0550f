import { describe, expect, it } from "vitest";
import { confirmedRoleArn, sessionIdentity } from "./session-identity.js";

describe("confirmedRoleArn", () => {
  it.each([
    // STS confirms the requested role: its path is kept.
    [
      "arn:aws:sts::222222222222:assumed-role/x/s",
      "arn:aws:iam::222222222222:role/team/x",
      "arn:aws:iam::222222222222:role/team/x",
    ],
    // STS names another role or account: its answer wins.
    [
      "arn:aws:sts::222222222222:assumed-role/x/s",
      "arn:aws:iam::111111111111:role/x",
      "arn:aws:iam::222222222222:role/x",
    ],
    ["arn:aws-cn:sts::222222222222:assumed-role/x/s", undefined, "arn:aws-cn:iam::222222222222:role/x"],
    [undefined, "arn:aws:iam::222222222222:role/x", undefined],
    ["arn:aws:iam::222222222222:user/u", "arn:aws:iam::222222222222:role/x", undefined],
  ])("STS %s for %s → %s", (assumed, requested, expected) => {
    expect(confirmedRoleArn(assumed, requested)).toBe(expected);
  });
});

describe("sessionIdentity", () => {
  const keys = { accessKeyId: "ASIA", secretAccessKey: "s" };
  it("names the account and role the credentials carry", () => {
    expect(
      sessionIdentity({
        ...keys,
        accountId: "222222222222",
        roleArn: "arn:aws:iam::222222222222:role/p/x",
      } as never),
    ).toEqual({
      accountId: "222222222222",
      roleArn: "arn:aws:iam::222222222222:role/p/x",
      roleName: "x",
      partition: "aws",
    });
  });

  it("takes the account from the role when only the role is carried, and knows nothing of bare keys", () => {
    expect(sessionIdentity({ ...keys, roleArn: "arn:aws:iam::333333333333:role/r" } as never).accountId).toBe(
      "333333333333",
    );
    expect(sessionIdentity({ ...keys, accountId: "444444444444" })).toEqual({
      accountId: "444444444444",
      roleArn: undefined,
      roleName: undefined,
      partition: undefined,
    });
    expect(sessionIdentity({ ...keys, roleArn: "not an arn" } as never).roleArn).toBeUndefined();
  });
});
