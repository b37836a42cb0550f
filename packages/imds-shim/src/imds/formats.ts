import { createHash } from "node:crypto";
import { rfc3339Seconds } from "@credbridge/core/wire";
import type { AwsCredentialIdentity } from "@smithy/types";

type Ec2JsonValue = string | null;

/**
 * EC2's pretty-printed JSON: two-space indent, `"key" : value`, no trailing
 * newline. Clients parse it as JSON; the layout is kept for byte-compatibility
 * with tools that print or diff it.
 */
export const ec2Json = (fields: ReadonlyArray<readonly [string, Ec2JsonValue]>): string =>
  `{\n${fields.map(([key, value]) => `  ${JSON.stringify(key)} : ${JSON.stringify(value)}`).join(",\n")}\n}`;

/** A directory listing: one entry per line, subdirectories with a trailing `/`, no final newline. */
export const ec2Listing = (entries: readonly string[]): string => entries.join("\n");

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Payload Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The small XHTML page EC2's metadata service answers errors with (`text/html`). */
export const ec2ErrorPage = (status: number): string => {
  const title = `${status} - ${REASONS[status] ?? "Error"}`;
  return [
    '<?xml version="1.0" encoding="iso-8859-1"?>',
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"',
    '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
    '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">',
    " <head>",
    `  <title>${title}</title>`,
    " </head>",
    " <body>",
    `  <h1>${title}</h1>`,
    " </body>",
    "</html>",
  ].join("\n");
};

/** `GET .../security-credentials/<role>`, field for field as EC2 orders them. */
export const credentialsDocument = (
  credentials: AwsCredentialIdentity,
  expiration: Date,
  lastUpdated: Date,
): string =>
  ec2Json([
    ["Code", "Success"],
    ["LastUpdated", rfc3339Seconds(lastUpdated)],
    ["Type", "AWS-HMAC"],
    ["AccessKeyId", credentials.accessKeyId],
    ["SecretAccessKey", credentials.secretAccessKey],
    // Long-term keys have no session token; botocore insists the field exists.
    ["Token", credentials.sessionToken ?? ""],
    ["Expiration", rfc3339Seconds(expiration)],
  ]);

export interface InstanceIdentity {
  accountId: string;
  region: string;
  availabilityZone: string;
  instanceId: string;
  instanceType: string;
  imageId: string;
  privateIp: string;
  architecture: string;
  pendingTime: Date;
}

/** `GET /latest/dynamic/instance-identity/document`, with the fields EC2 serves. */
export const instanceIdentityDocument = (id: InstanceIdentity): string =>
  ec2Json([
    ["accountId", id.accountId],
    ["imageId", id.imageId],
    ["availabilityZone", id.availabilityZone],
    ["ramdiskId", null],
    ["kernelId", null],
    ["devpayProductCodes", null],
    ["marketplaceProductCodes", null],
    ["version", "2017-09-30"],
    ["privateIp", id.privateIp],
    ["billingProducts", null],
    ["instanceId", id.instanceId],
    ["pendingTime", rfc3339Seconds(id.pendingTime)],
    ["architecture", id.architecture],
    ["instanceType", id.instanceType],
    ["region", id.region],
  ]);

/** `GET /latest/meta-data/iam/info`. */
export const iamInfoDocument = (instanceProfileArn: string, instanceProfileId: string, lastUpdated: Date) =>
  ec2Json([
    ["Code", "Success"],
    ["LastUpdated", rfc3339Seconds(lastUpdated)],
    ["InstanceProfileArn", instanceProfileArn],
    ["InstanceProfileId", instanceProfileId],
  ]);

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * A stable instance-profile id (`AIPA` + 17 characters, the shape IAM uses)
 * derived from the profile ARN: the same role always shows the same id.
 */
export const instanceProfileId = (instanceProfileArn: string): string => {
  const digest = createHash("sha256").update(instanceProfileArn).digest();
  let id = "AIPA";
  for (let i = 0; i < 17; i++) id += ID_ALPHABET[(digest[i] ?? 0) & 31];
  return id;
};

/** The partition of a region: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, else `aws`. */
export const partitionOf = (region: string): string =>
  region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";

/** EC2's name for Node's `process.arch`. */
export const ec2Architecture = (arch: string): string =>
  arch === "x64" ? "x86_64" : arch === "arm64" ? "arm64" : arch === "ia32" ? "i386" : arch;
