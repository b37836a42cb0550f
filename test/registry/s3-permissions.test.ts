/**
 * The registry's S3 permission policy (`credbridge permission-policy`,
 * examples/iam/registry-s3-permission-policy.json) against the code of Harbor's
 * registry: every S3 call distribution v2.8.3's driver can make needs an action
 * the policy grants, and the policy grants no action the driver never needs.
 * What the registry really sends is checked in every rotation test
 * (support/stage.ts, expectAllowedByPermissionPolicy).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { permissionPolicy, REGISTRY_BUCKET_ACTIONS, REGISTRY_OBJECT_ACTIONS } from "@credbridge/cli";
import { describe, expect, it } from "vitest";
import { findDistributionArchive } from "../support/distribution.js";
import { allows, S3_OPERATION_ACTIONS } from "./support/s3-policy.js";

const run = promisify(execFile);
const DRIVER = "distribution-2.8.3/registry/storage/driver/s3-aws/s3.go";

/**
 * The S3 operations the driver's code calls: `d.S3.PutObject(`,
 * `w.driver.S3.UploadPart(`, `S3.GetObjectRequest(` (a presigned URL),
 * `S3.ListObjectsV2PagesWithContext(` (ListObjectsV2, page by page).
 */
const driverOperations = async (): Promise<Set<string>> => {
  const { stdout } = await run("tar", ["-xzOf", findDistributionArchive(), DRIVER], {
    maxBuffer: 8 * 1024 * 1024,
  });
  return new Set(
    [...stdout.matchAll(/\bS3\.([A-Z]\w*?)(?:Pages)?(?:Request|WithContext)?\(/g)].map((m) => m[1]!),
  );
};

describe("the registry's S3 permission policy, against distribution v2.8.3's S3 driver", () => {
  it("grants exactly the actions of the operations the driver calls, no more", async () => {
    const operations = await driverOperations();
    // The calls read from s3.go (a changed regexp or file would show here first).
    expect([...operations].sort()).toEqual([
      "AbortMultipartUpload",
      "CompleteMultipartUpload",
      "CopyObject",
      "CreateMultipartUpload",
      "DeleteObjects",
      "GetObject",
      "HeadObject",
      "ListMultipartUploads",
      "ListObjects",
      "ListObjectsV2",
      "ListParts",
      "PutObject",
      "UploadPart",
      "UploadPartCopy",
    ]);
    const needed = new Set(
      [...operations].flatMap((op) => {
        const mapped = S3_OPERATION_ACTIONS[op];
        if (!mapped) throw new Error(`${op}: no IAM mapping in support/s3-policy.ts`);
        return mapped.actions;
      }),
    );
    expect([...needed].sort()).toEqual([...REGISTRY_BUCKET_ACTIONS, ...REGISTRY_OBJECT_ACTIONS].sort());
    // distribution's documentation lists s3:GetBucketLocation too; the driver never calls GetBucketLocation.
    expect(needed.has("s3:GetBucketLocation")).toBe(false);
  });

  it("grants the bucket's actions on the bucket and the objects' on its keys (under the prefix), nothing elsewhere", () => {
    const policy = permissionPolicy({ bucket: "registry-data", prefix: "harbor" });
    const list = (prefix?: string) =>
      allows(policy, "s3:ListBucket", "arn:aws:s3:::registry-data", { "s3:prefix": prefix });
    // The prefixes the driver lists with: s3Path(path) = rootdirectory + a path starting with "/".
    expect(list("harbor/")).toBe(true);
    expect(list("harbor/docker/registry/v2/repositories/")).toBe(true);
    expect(list("harbor/docker/registry/v2/blobs/sha256/ab/abcd/data")).toBe(true);
    // Anything else in the bucket: not listed.
    expect(list()).toBe(false);
    expect(list("")).toBe(false);
    expect(list("harbor")).toBe(false);
    expect(list("harbor2/")).toBe(false);
    expect(list("other/")).toBe(false);
    // Uploads in progress: bucket-wide, as s3:ListBucketMultipartUploads has no s3:prefix key.
    expect(allows(policy, "s3:ListBucketMultipartUploads", "arn:aws:s3:::registry-data")).toBe(true);
    expect(allows(policy, "s3:PutObject", "arn:aws:s3:::registry-data/harbor/docker/registry/v2/x")).toBe(
      true,
    );
    expect(allows(policy, "s3:PutObject", "arn:aws:s3:::registry-data/other/x")).toBe(false);
    expect(allows(policy, "s3:GetObject", "arn:aws:s3:::registry-data-2/harbor/x")).toBe(false);
    expect(allows(policy, "s3:ListBucket", "arn:aws:s3:::other", { "s3:prefix": "harbor/" })).toBe(false);
    expect(allows(policy, "s3:DeleteBucket", "arn:aws:s3:::registry-data")).toBe(false);
  });
});
