import { parseRoleArn } from "@credbridge/core/wire";
import { parseProfiles } from "../args/profiles.js";
import { UsageError } from "../args/usage-error.js";
import type { Command } from "../context.js";
import { printPolicy } from "../policies/document.js";
import { permissionPolicy } from "../policies/permission.js";
import { policyRole } from "../policies/policy-role.js";
import { bucketNameProblem, prefixProblem } from "../policies/s3-names.js";

/** A value as an error shows it: quoted, cut to 80 characters. */
const shown = (value: string): string => JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);

/**
 * `credbridge permission-policy`: the role's permission policy, one document
 * for `aws iam put-role-policy`: the registry's S3 actions and, with
 * --self-assume, sts:AssumeRole on the role itself.
 */
export const permissionPolicyCommand: Command<"permission-policy"> = async (ctx) => {
  const f = ctx.flags;
  const fail = (message: string) => new UsageError(message, "permission-policy");
  const bucket = f["s3-bucket"];
  const rawPrefix = f["s3-prefix"];
  const role = policyRole(ctx);
  const selfAssume = f["self-assume"] === true;
  if (rawPrefix !== undefined && bucket === undefined) throw fail("--s3-prefix needs --s3-bucket");
  // Named profiles' first hops are assumed by the pod's role (itself after --self-assume).
  const profileRoleArns = parseProfiles(f["profile-assume-role"], "permission-policy").map(
    (p) => p.hops[0]!.roleArn,
  );
  for (const arn of profileRoleArns) {
    if (!parseRoleArn(arn)) throw fail(`--profile-assume-role: "${arn}" is not a role ARN`);
  }
  if (bucket === undefined && !selfAssume && profileRoleArns.length === 0) {
    throw fail(
      "nothing to print: give --s3-bucket (the registry's S3 permissions), --self-assume, --profile-assume-role, or several",
    );
  }
  const bucketProblem = bucket === undefined ? undefined : bucketNameProblem(bucket);
  if (bucketProblem) throw fail(`--s3-bucket ${shown(bucket!)} is not an S3 bucket name: ${bucketProblem}`);
  // The registry joins rootdirectory and its paths with the slashes trimmed: "/harbor/" is "harbor/...".
  const prefix = rawPrefix?.replace(/^\/+|\/+$/g, "");
  const problem = prefix === undefined ? undefined : prefixProblem(prefix);
  if (problem)
    throw fail(`--s3-prefix ${shown(rawPrefix!)} must be the registry's rootdirectory: ${problem}`);
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
