import { describe, expect, it } from "vitest";
import { formatRoleArn, parseArn, parseAssumedRoleArn, parseRoleArn } from "./arn.js";

describe("parseRoleArn", () => {
  it.each([
    [
      "arn:aws:iam::123456789012:role/app",
      { partition: "aws", accountId: "123456789012", path: "/", roleName: "app" },
    ],
    ["arn:aws:iam::123456789012:role/a/b/app+x=y,z.w@q-1", { path: "/a/b/", roleName: "app+x=y,z.w@q-1" }],
    ["arn:aws-cn:iam::123456789012:role/team/service/app", { partition: "aws-cn", roleName: "app" }],
    [
      "arn:aws:iam::123456789012:role/a!#%&'()+,-.:;<=>@[]^_`{|}~/app",
      { path: "/a!#%&'()+,-.:;<=>@[]^_`{|}~/" },
    ],
    ["arn:aws-us-gov:iam::123456789012:role/app", { partition: "aws-us-gov" }],
    ["arn:aws-iso-b:iam::123456789012:role/app", { partition: "aws-iso-b" }],
  ])("parses %s", (arn, expected) => {
    expect(parseRoleArn(arn)).toMatchObject(expected);
  });

  it.each([
    "app",
    "arn:aws:iam::12345678901:role/short-account",
    "arn:aws:iam::123456789012:user/not-a-role",
    "arn:aws:sts::123456789012:assumed-role/app/session",
    "arn:aws:iam::123456789012:role/",
    `arn:aws:iam::123456789012:role/${"x".repeat(65)}`,
    "arn:aws:iam::123456789012:role/has space",
    "arn:aws:iam:us-east-1:123456789012:role/regional",
    "arn:gcp:iam::123456789012:role/app",
    "arn:aws:iam::aws:role/managed",
    "role/nope",
    // Wildcards and policy variables in the path would widen any policy the ARN is printed into.
    "arn:aws:iam::123456789012:role/*/registry",
    "arn:aws:iam::123456789012:role/?/registry",
    "arn:aws:iam::123456789012:role/a*b/*/registry",
    `arn:aws:iam::123456789012:role/${"$"}{aws:PrincipalTag/team}/registry`,
    "arn:aws:iam::123456789012:role/team$/registry",
    "arn:aws:iam::123456789012:role/*",
  ])("refuses %s", (arn) => {
    expect(parseRoleArn(arn)).toBeUndefined();
  });
});

describe("parseAssumedRoleArn", () => {
  it("parses what STS answers for a session", () => {
    expect(parseAssumedRoleArn("arn:aws-cn:sts::210987654321:assumed-role/x/eks-pod-1")).toEqual({
      partition: "aws-cn",
      accountId: "210987654321",
      roleName: "x",
      sessionName: "eks-pod-1",
    });
  });

  it.each([
    "arn:aws:iam::123456789012:role/app",
    "arn:aws:sts::123456789012:assumed-role/app",
    "arn:aws:sts::123456789012:federated-user/bob",
    "arn:aws:sts::12345:assumed-role/app/s",
  ])("refuses %s", (arn) => {
    expect(parseAssumedRoleArn(arn)).toBeUndefined();
  });
});

describe("parseArn", () => {
  it("splits any ARN, keeping colons in the resource", () => {
    expect(parseArn("arn:aws:iam::123456789012:root")).toEqual({
      partition: "aws",
      service: "iam",
      region: "",
      accountId: "123456789012",
      resource: "root",
    });
    expect(parseArn("arn:aws:logs:eu-west-1:123456789012:log-group:g:*")?.resource).toBe("log-group:g:*");
    expect(parseArn("arn:aws:s3:::bucket")?.accountId).toBe("");
    expect(parseArn("arn:aws:iam::aws:policy/ReadOnlyAccess")?.accountId).toBe("aws");
  });

  it.each([
    "",
    "arn",
    "arn:aws:iam::123456789012",
    "arn:aws:iam::1234:user/u",
    "urn:aws:iam::123456789012:x",
  ])("refuses %j", (arn) => {
    expect(parseArn(arn)).toBeUndefined();
  });
});

describe("formatRoleArn", () => {
  it("is parseRoleArn's inverse", () => {
    for (const arn of ["arn:aws:iam::123456789012:role/app", "arn:aws-cn:iam::123456789012:role/a/b/app"]) {
      expect(formatRoleArn(parseRoleArn(arn)!)).toBe(arn);
    }
  });
});
