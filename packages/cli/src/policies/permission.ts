import type { PolicyDocument } from "./document.js";

/**
 * The IAM actions of every S3 call distribution's S3 driver makes
 * (registry/storage/driver/s3-aws/s3.go, v2.8.3: Harbor 2.x's registry, and
 * its garbage collection in registryctl). On the bucket: ListObjects
 * (s3:ListBucket), ListMultipartUploads (s3:ListBucketMultipartUploads).
 */
export const REGISTRY_BUCKET_ACTIONS = ["s3:ListBucket", "s3:ListBucketMultipartUploads"] as const;

/**
 * On the objects: GetObject and the presigned GET/HEAD of redirects
 * (s3:GetObject); PutObject, CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, CopyObject and UploadPartCopy (s3:PutObject, the
 * copies s3:GetObject on their source too); ListParts
 * (s3:ListMultipartUploadParts); DeleteObjects (s3:DeleteObject per key);
 * AbortMultipartUpload. distribution's documented list adds
 * s3:GetBucketLocation, which the driver never calls: left out.
 */
export const REGISTRY_OBJECT_ACTIONS = [
  "s3:GetObject",
  "s3:PutObject",
  "s3:DeleteObject",
  "s3:ListMultipartUploadParts",
  "s3:AbortMultipartUpload",
] as const;

export interface PermissionPolicyOptions {
  /** The registry's bucket: its S3 statements are left out without one. */
  bucket?: string | undefined;
  /**
   * The registry's `rootdirectory`, without slashes: objects outside it are out of reach, and so
   * is listing them (s3:ListBucket only with an s3:prefix under it). Uploads in progress are
   * listed bucket-wide: s3:ListBucketMultipartUploads takes no s3:prefix condition.
   */
  prefix?: string | undefined;
  /** The role that assumes itself (`serve --self-assume`). */
  selfAssumeRoleArn?: string | undefined;
  /** The first hop role of each named profile: the pod's role assumes them. */
  profileRoleArns?: readonly string[] | undefined;
  /** aws, aws-cn, aws-us-gov...: the role's. Default aws. */
  partition?: string | undefined;
}

/**
 * The role's own permissions: the registry's S3 actions on its bucket (and
 * prefix), and sts:AssumeRole on itself for a self-assuming sidecar.
 * sts:TagSession too: EKS Pod Identity's session tags are transitive, so the
 * self-assume passes them on (IRSA sessions carry none; the action then goes unused).
 */
export const permissionPolicy = (o: PermissionPolicyOptions): PolicyDocument => {
  const partition = o.partition ?? "aws";
  const bucketArn = o.bucket === undefined ? undefined : `arn:${partition}:s3:::${o.bucket}`;
  return {
    Version: "2012-10-17",
    Statement: [
      ...(bucketArn
        ? [
            ...(o.prefix
              ? [
                  {
                    Sid: "RegistryList",
                    Effect: "Allow",
                    Action: "s3:ListBucket",
                    Resource: bucketArn,
                    // The driver lists with Prefix = rootdirectory + a path that starts with "/"
                    // (s3Path in s3.go): "harbor/" for the root, never "harbor" alone nor none.
                    Condition: { StringLike: { "s3:prefix": [`${o.prefix}/*`] } },
                  },
                  {
                    Sid: "RegistryUploads",
                    Effect: "Allow",
                    Action: "s3:ListBucketMultipartUploads",
                    Resource: bucketArn,
                  },
                ]
              : [
                  {
                    Sid: "RegistryBucket",
                    Effect: "Allow",
                    Action: [...REGISTRY_BUCKET_ACTIONS],
                    Resource: bucketArn,
                  },
                ]),
            {
              Sid: "RegistryObjects",
              Effect: "Allow",
              Action: [...REGISTRY_OBJECT_ACTIONS],
              Resource: `${bucketArn}/${o.prefix ? `${o.prefix}/` : ""}*`,
            },
          ]
        : []),
      ...(o.selfAssumeRoleArn
        ? [
            {
              Sid: "SelfAssume",
              Effect: "Allow",
              Action: ["sts:AssumeRole", "sts:TagSession"],
              Resource: o.selfAssumeRoleArn,
            },
          ]
        : []),
      ...(o.profileRoleArns && o.profileRoleArns.length > 0
        ? [
            {
              Sid: "AssumeProfileRoles",
              Effect: "Allow",
              Action: ["sts:AssumeRole", "sts:TagSession"],
              Resource: [...new Set(o.profileRoleArns)],
            },
          ]
        : []),
    ],
  };
};
