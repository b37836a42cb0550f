/** An IAM policy document as AWS prints it. */
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Record<string, unknown>[];
}

/** As `aws iam get-role-policy` shows one: two-space JSON, one document per command. */
export const printPolicy = (policy: PolicyDocument): string => `${JSON.stringify(policy, null, 2)}\n`;
