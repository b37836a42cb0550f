import type { PolicyDocument } from "@credbridge/cli";
import type { S3FrontRequest } from "@credbridge/emulators";

/**
 * The IAM actions each S3 operation needs (the Service Authorization
 * Reference's table for Amazon S3), and on what: the bucket, or the object the
 * request names. Copies also read their source (s3:GetObject), which the front
 * does not log: the source is checked as if it were the destination, both
 * being the registry's own keys. DeleteObjects is authorised per key as
 * s3:DeleteObject; the keys are in its body, also not logged: checked on a key
 * under the registry's root.
 */
export const S3_OPERATION_ACTIONS: Record<string, { on: "bucket" | "object" | "keys"; actions: string[] }> = {
  ListObjects: { on: "bucket", actions: ["s3:ListBucket"] },
  ListObjectsV2: { on: "bucket", actions: ["s3:ListBucket"] },
  HeadBucket: { on: "bucket", actions: ["s3:ListBucket"] },
  ListMultipartUploads: { on: "bucket", actions: ["s3:ListBucketMultipartUploads"] },
  GetBucketLocation: { on: "bucket", actions: ["s3:GetBucketLocation"] },
  GetObject: { on: "object", actions: ["s3:GetObject"] },
  HeadObject: { on: "object", actions: ["s3:GetObject"] },
  PutObject: { on: "object", actions: ["s3:PutObject"] },
  CreateMultipartUpload: { on: "object", actions: ["s3:PutObject"] },
  UploadPart: { on: "object", actions: ["s3:PutObject"] },
  CompleteMultipartUpload: { on: "object", actions: ["s3:PutObject"] },
  CopyObject: { on: "object", actions: ["s3:PutObject", "s3:GetObject"] },
  UploadPartCopy: { on: "object", actions: ["s3:PutObject", "s3:GetObject"] },
  ListParts: { on: "object", actions: ["s3:ListMultipartUploadParts"] },
  AbortMultipartUpload: { on: "object", actions: ["s3:AbortMultipartUpload"] },
  DeleteObject: { on: "object", actions: ["s3:DeleteObject"] },
  DeleteObjects: { on: "keys", actions: ["s3:DeleteObject"] },
};

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM's wildcard match of a resource ARN: `*` any run of characters, `?` one. */
const matches = (pattern: string, arn: string): boolean =>
  new RegExp(
    `^${pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&")))
      .join("")}$`,
  ).test(arn);

/** What a request says about itself that a condition may test: ListObjects' `prefix`, absent when not sent. */
export interface RequestContext {
  "s3:prefix"?: string | undefined;
}

/**
 * Whether a statement's condition holds: only StringLike on keys of `context` is understood
 * (what ours use); a key the request does not carry fails it, as IAM evaluates; any other
 * operator fails it, so a condition this does not know cannot pass a request.
 */
const conditionHolds = (condition: unknown, context: RequestContext): boolean => {
  if (condition === undefined) return true;
  const operators = Object.entries(condition as Record<string, Record<string, string | string[]>>);
  return operators.every(
    ([operator, keys]) =>
      operator === "StringLike" &&
      Object.entries(keys).every(([key, patterns]) => {
        const value = context[key as keyof RequestContext];
        return value !== undefined && list(patterns).some((p) => matches(p, value));
      }),
  );
};

/** Whether an Allow statement of `policy` (no Deny in ours) grants `action` on `arn` for a request of `context`. */
export const allows = (
  policy: PolicyDocument,
  action: string,
  arn: string,
  context: RequestContext = {},
): boolean =>
  policy.Statement.some(
    (s) =>
      s.Effect === "Allow" &&
      conditionHolds(s.Condition, context) &&
      list(s.Action as string | string[]).includes(action) &&
      list(s.Resource as string | string[]).some((r) => matches(r, arn)),
  );

/**
 * The S3 requests `policy` would have refused, as `METHOD path (operation: action)`:
 * an operation without a mapping counts as refused, so a new call cannot slip past.
 */
export const deniedRequests = (policy: PolicyDocument, requests: readonly S3FrontRequest[]): string[] =>
  requests.flatMap((r) => {
    const need = S3_OPERATION_ACTIONS[r.operation];
    if (!need) return [`${r.method} ${r.path} (${r.operation}: no IAM mapping)`];
    const [, bucket = "", ...key] = r.path.split("/");
    const arn =
      need.on === "bucket"
        ? `arn:aws:s3:::${bucket}`
        : need.on === "keys"
          ? `arn:aws:s3:::${bucket}/docker/registry/v2/deleted`
          : `arn:aws:s3:::${bucket}/${decodeURIComponent(key.join("/"))}`;
    return need.actions
      .filter((action) => !allows(policy, action, arn))
      .map((action) => `${r.method} ${r.path} (${r.operation}: ${action} on ${arn})`);
  });
