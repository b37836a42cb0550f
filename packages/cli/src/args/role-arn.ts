import { parseRoleArn } from "@credbridge/core/wire";

/**
 * Why `arn` is not a role ARN, naming `where` it came from (`--role-arn`, CREDBRIDGE_ROLE_ARN,
 * AWS_ROLE_ARN); undefined when it is one. Shown quoted and cut short: what was pasted there
 * may be anything, a token included.
 */
export const roleArnProblem = (arn: string, where: string): string | undefined => {
  if (parseRoleArn(arn)) return undefined;
  const shown = JSON.stringify(arn.length > 120 ? `${arn.slice(0, 120)}…` : arn);
  const wildcard = /[*?$]/.test(arn)
    ? ": a role ARN holds no * ? or $, which a policy reads as wildcards and policy variables"
    : "";
  return `${where} ${shown} is not a role ARN (arn:aws:iam::<12-digit account>:role/<name>)${wildcard}`;
};
