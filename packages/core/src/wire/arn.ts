/** The parts every ARN has: `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export interface Arn {
  partition: string;
  service: string;
  /** Empty for global services (IAM, global STS ARNs). */
  region: string;
  /** 12 digits; `aws` for AWS-managed resources; empty for ARNs without one (`arn:aws:s3:::bucket`). */
  accountId: string;
  resource: string;
}

/** `arn:aws:iam::<account>:role/<path/>name`. */
export interface RoleArn {
  partition: string;
  accountId: string;
  /** `/`, or `/a/b/` for a role with a path. */
  path: string;
  roleName: string;
}

/** `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`: who STS says a session is. */
export interface AssumedRoleArn {
  partition: string;
  accountId: string;
  roleName: string;
  sessionName: string;
}

/** aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-eusc, ... */
const PARTITION = /^aws(?:-[a-z]+)*$/;
const ACCOUNT = /^\d{12}$/;
/** AWS-managed resources (`arn:aws:iam::aws:policy/ReadOnlyAccess`) name the account `aws`. */
const ANY_ACCOUNT = /^(?:\d{12}|aws)?$/;
/**
 * IAM: a path is `/` or `/` + printable ASCII + `/`; a name 1–64 of letters, digits and `+=,.@_-`.
 * IAM lets a path hold `*`, `?` and `$`, but a policy reads them as wildcards and as a policy
 * variable (`${aws:PrincipalTag/team}`): an ARN with them, printed into a Resource or a Principal,
 * names every role it matches. No role ARN we accept, print or assume holds them.
 */
const ROLE = /^role(\/(?:[\x21-\x23\x25-\x29\x2b-\x2e\x30-\x3e\x40-\x7e]+\/)*)([\w+=,.@-]{1,64})$/;
const ASSUMED_ROLE = /^assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{1,64})$/;

/** The parts of any ARN; undefined when `arn` is not one. */
export const parseArn = (arn: string): Arn | undefined => {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  const [, partition = "", service = "", region = "", accountId = ""] = parts;
  const resource = parts.slice(5).join(":");
  if (!PARTITION.test(partition) || !service || !resource) return undefined;
  if (!ANY_ACCOUNT.test(accountId)) return undefined;
  return { partition, service, region, accountId, resource };
};

const globalIn = (arn: string, service: string): Arn | undefined => {
  const parsed = parseArn(arn);
  return parsed && parsed.service === service && parsed.region === "" && ACCOUNT.test(parsed.accountId)
    ? parsed
    : undefined;
};

/** The parts of an IAM role ARN; undefined for anything else (users, assumed-role sessions, typos). */
export const parseRoleArn = (arn: string): RoleArn | undefined => {
  const parsed = globalIn(arn, "iam");
  const m = parsed && ROLE.exec(parsed.resource);
  return parsed && m
    ? { partition: parsed.partition, accountId: parsed.accountId, path: m[1]!, roleName: m[2]! }
    : undefined;
};

/** The parts of an STS assumed-role ARN (`AssumedRoleUser.Arn`, `GetCallerIdentity`'s `Arn`). */
export const parseAssumedRoleArn = (arn: string): AssumedRoleArn | undefined => {
  const parsed = globalIn(arn, "sts");
  const m = parsed && ASSUMED_ROLE.exec(parsed.resource);
  return parsed && m
    ? { partition: parsed.partition, accountId: parsed.accountId, roleName: m[1]!, sessionName: m[2]! }
    : undefined;
};

/** `{partition, accountId, path, roleName}` → `arn:<partition>:iam::<account>:role<path><name>`. */
export const formatRoleArn = (role: Omit<RoleArn, "path"> & { path?: string | undefined }): string =>
  `arn:${role.partition}:iam::${role.accountId}:role${role.path ?? "/"}${role.roleName}`;
