import { describe, expect, it } from "vitest";
import {
  credentialsDocument,
  ec2Architecture,
  iamInfoDocument,
  instanceIdentityDocument,
  instanceProfileId,
  partitionOf,
} from "./formats.js";

describe("EC2 formats", () => {
  it("writes the credentials document byte for byte as EC2 lays it out", () => {
    const body = credentialsDocument(
      { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "s/k+e=y", sessionToken: 'to"ken' },
      new Date("2026-01-01T01:00:00.500Z"),
      new Date("2026-01-01T00:00:00Z"),
    );
    expect(body).toBe(
      [
        "{",
        '  "Code" : "Success",',
        '  "LastUpdated" : "2026-01-01T00:00:00Z",',
        '  "Type" : "AWS-HMAC",',
        '  "AccessKeyId" : "ASIAEXAMPLE",',
        '  "SecretAccessKey" : "s/k+e=y",',
        '  "Token" : "to\\"ken",',
        '  "Expiration" : "2026-01-01T01:00:00Z"',
        "}",
      ].join("\n"),
    );
    expect(JSON.parse(body)).toMatchObject({ Token: 'to"ken', Expiration: "2026-01-01T01:00:00Z" });
  });

  it("serves an empty Token for long-term keys (botocore requires the field)", () => {
    const body = credentialsDocument({ accessKeyId: "AKIA", secretAccessKey: "s" }, new Date(0), new Date(0));
    expect(JSON.parse(body).Token).toBe("");
  });

  it("writes the identity document with every field EC2 serves, nulls included", () => {
    const doc = JSON.parse(
      instanceIdentityDocument({
        accountId: "123456789012",
        region: "eu-west-1",
        availabilityZone: "eu-west-1b",
        instanceId: "i-0123456789abcdef0",
        instanceType: "m5.large",
        imageId: "ami-1",
        privateIp: "10.0.0.1",
        architecture: "x86_64",
        pendingTime: new Date("2026-01-01T00:00:00Z"),
      }),
    );
    expect(Object.keys(doc)).toEqual([
      "accountId",
      "imageId",
      "availabilityZone",
      "ramdiskId",
      "kernelId",
      "devpayProductCodes",
      "marketplaceProductCodes",
      "version",
      "privateIp",
      "billingProducts",
      "instanceId",
      "pendingTime",
      "architecture",
      "instanceType",
      "region",
    ]);
    expect(doc).toMatchObject({
      accountId: "123456789012",
      region: "eu-west-1",
      ramdiskId: null,
      version: "2017-09-30",
    });
  });

  it("derives a stable AIPA instance-profile id", () => {
    const arn = "arn:aws:iam::123456789012:instance-profile/app";
    expect(instanceProfileId(arn)).toMatch(/^AIPA[A-Z2-7]{17}$/);
    expect(instanceProfileId(arn)).toBe(instanceProfileId(arn));
    expect(instanceProfileId(`${arn}2`)).not.toBe(instanceProfileId(arn));
    expect(JSON.parse(iamInfoDocument(arn, "AIPAX", new Date(0)))).toEqual({
      Code: "Success",
      LastUpdated: "1970-01-01T00:00:00Z",
      InstanceProfileArn: arn,
      InstanceProfileId: "AIPAX",
    });
  });

  it("names partitions and architectures as EC2 does", () => {
    expect(partitionOf("cn-north-1")).toBe("aws-cn");
    expect(partitionOf("us-gov-west-1")).toBe("aws-us-gov");
    expect(partitionOf("eu-west-1")).toBe("aws");
    expect(ec2Architecture("x64")).toBe("x86_64");
    expect(ec2Architecture("arm64")).toBe("arm64");
  });
});
