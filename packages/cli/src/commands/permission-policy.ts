import { parseRoleArn } from "@credbridge/core/wire";
import { parseProfiles } from "../args/profiles.js";
import { UsageError } from "../args/usage-error.js";
import type { Command } from "../context.js";
import { printPolicy } from "../policies/document.js";
import { permissionPolicy } from "../policies/permission.js";
import { policyRole } from "../policies/policy-role.js";

/** S3's bucket naming rules for new buckets: 3–63 of a-z, 0-9, '.', '-', starting and ending alphanumeric. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Key characters a prefix may use in a resource ARN: no IAM wildcards, no policy variables. */
const PREFIX = /^[\w!'().\-/]+$/;

/**
 * `credbridge permission-policy`: the role's permission policy, one document
 * for `aws iam put-role-policy`: the registry's S3 actions and, with
 * --self-assume, sts:AssumeRole on the role itself.
 */
export const permissionPolicyCommand: Command = async (ctx) => {
  const f = ctx.flags;
  const fail = (message: string) => new UsageError(message, "permission-policy");
  const bucket = f["s3-bucket"] as string | undefined;
  const rawPrefix = f["s3-prefix"] as string | undefined;
  const role = policyRole(ctx);
  const selfAssume = f["self-assume"] === true;
  if (rawPrefix !== undefined && bucket === undefined) throw fail("--s3-prefix needs --s3-bucket");
  // Named profiles' first hops are assumed by the pod's role (itself after --self-assume).
  const profileRoleArns = parseProfiles(
    f["profile-assume-role"] as string[] | undefined,
    "permission-policy",
  ).map((p) => p.hops[0]!.roleArn);
  for (const arn of profileRoleArns) {
    if (!parseRoleArn(arn)) throw fail(`--profile-assume-role: "${arn}" is not a role ARN`);
  }
  if (bucket === undefined && !selfAssume && profileRoleArns.length === 0) {
    throw fail(
      "nothing to print: give --s3-bucket (the registry's S3 permissions), --self-assume, --profile-assume-role, or several",
    );
  }
  if (bucket !== undefined && !BUCKET.test(bucket)) {
    throw fail(
      `--s3-bucket "${bucket}" is not an S3 bucket name (3-63 lower-case letters, digits, '.', '-'; no s3:// or ARN)`,
    );
  }
  // The registry joins rootdirectory and its paths with the slashes trimmed: "/harbor/" is "harbor/...".
  const prefix = rawPrefix?.replace(/^\/+|\/+$/g, "");
  if (rawPrefix !== undefined && (!prefix || !PREFIX.test(prefix) || prefix.includes("//"))) {
    throw fail(
      `--s3-prefix "${rawPrefix}" must be the registry's rootdirectory, a key prefix such as harbor or /harbor (no '*', '?' or '$')`,
    );
  }
  ctx.stdout(
    printPolicy(
      permissionPolicy({
        bucket,
        prefix,
        selfAssumeRoleArn: selfAssume ? role?.arn : undefined,
        profileRoleArns,
        partition: role?.partition,
      }),
    ),
  );
  return 0;
};
