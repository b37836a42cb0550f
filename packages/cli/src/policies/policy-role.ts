import { parseRoleArn, type RoleArn } from "@credbridge/core/wire";
import type { PolicyRoleFlags } from "../args/flags.js";
import { roleArnProblem } from "../args/role-arn.js";
import { UsageError } from "../args/usage-error.js";
import type { CommandContext } from "../context.js";

export interface PolicyRole extends RoleArn {
  arn: string;
}

/** Where a flag's value came from, as a user would write it: `--role-arn` or its variable. */
const named = (ctx: CommandContext<PolicyRoleFlags>, flag: keyof PolicyRoleFlags): string =>
  ctx.origins[flag] === undefined || ctx.origins[flag] === "argv" ? `--${flag}` : ctx.origins[flag]!;

/**
 * The role a policy command prints for: `--role-arn`, else AWS_ROLE_ARN, as
 * the sources read it; so in the sidecar, where IRSA sets AWS_ROLE_ARN and the
 * manifest CREDBRIDGE_SELF_ASSUME=true, the policy is the sidecar's own.
 * Required with --self-assume: a role cannot trust itself unnamed. A malformed
 * ARN is refused when it was given as a flag or is `needed`; an AWS_ROLE_ARN
 * nothing uses is left alone.
 */
export const policyRole = (ctx: CommandContext<PolicyRoleFlags>, needed = false): PolicyRole | undefined => {
  const fromFlag = ctx.flags["role-arn"];
  const arn = fromFlag ?? ctx.env.AWS_ROLE_ARN;
  const where = fromFlag === undefined ? "AWS_ROLE_ARN" : named(ctx, "role-arn");
  const selfAssume = ctx.flags["self-assume"] === true;
  if (arn === undefined || arn === "") {
    if (!selfAssume) return undefined;
    throw new UsageError(
      `${named(ctx, "self-assume")} needs the role that assumes itself: --role-arn arn:aws:iam::<account>:role/<name> (or AWS_ROLE_ARN, which IRSA sets in the pod)`,
      ctx.command,
    );
  }
  const role = parseRoleArn(arn);
  if (!role && fromFlag === undefined && !selfAssume && !needed) return undefined;
  if (!role) throw new UsageError(roleArnProblem(arn, where)!, ctx.command);
  return { ...role, arn };
};
