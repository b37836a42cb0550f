import { formatRoleArn, parseArn, parseAssumedRoleArn } from "@credbridge/core/wire";
import { stableUniqueId } from "../internal/ids.js";
import type { SigV4Auth } from "../sigv4/header.js";
import { StsError } from "./errors.js";
import type { SessionStore } from "./issue.js";

/** Long-term keys the emulator accepts as signers besides the sessions it issued. */
export interface BaseIdentity {
  /**
   * Who the key belongs to: an IAM user (`arn:aws:iam::<acct>:user/<name>`), the
   * account root (`arn:aws:iam::<acct>:root`) or an assumed-role session
   * (`arn:aws:sts::<acct>:assumed-role/<role>/<session>`, which counts as role
   * chaining for AssumeRole).
   */
  arn: string;
  /** Needed only when the emulator verifies signatures. */
  secretAccessKey?: string;
  /** When set, requests must carry it as `X-Amz-Security-Token`; when unset they must carry none. */
  sessionToken?: string;
  /** `UserId` for GetCallerIdentity. Default: derived from the ARN. */
  userId?: string;
}

/** The principal that signed a request. */
export interface CallerIdentity {
  accessKeyId: string;
  arn: string;
  userId: string;
  accountId: string;
  /** The role whose session signed, when the signer is a role session. */
  roleArn?: string;
  /** The signer's secret, when known, to verify the signature. */
  secretAccessKey?: string;
}

/** What a configured base identity resolves to; throws on an ARN it cannot place in an account. */
export const describeBaseIdentity = (accessKeyId: string, base: BaseIdentity): CallerIdentity => {
  const parsed = parseArn(base.arn);
  const accountId = parsed?.accountId;
  if (!accountId || accountId === "aws" || (parsed.service !== "iam" && parsed.service !== "sts")) {
    throw new TypeError(`baseIdentities[${accessKeyId}].arn is not an IAM or STS ARN: ${base.arn}`);
  }
  const session = parseAssumedRoleArn(base.arn);
  const roleArn = session ? formatRoleArn(session) : undefined;
  const userId =
    base.userId ??
    (session
      ? `${stableUniqueId("AROA", roleArn!)}:${session.sessionName}`
      : base.arn.endsWith(":root")
        ? accountId
        : stableUniqueId("AIDA", base.arn));
  return {
    accessKeyId,
    arn: base.arn,
    userId,
    accountId,
    ...(roleArn === undefined ? {} : { roleArn }),
    ...(base.secretAccessKey === undefined ? {} : { secretAccessKey: base.secretAccessKey }),
  };
};

const invalidToken = () => new StsError("InvalidClientTokenId");

/**
 * The identity behind a signed request: a session this emulator issued (whose
 * session token must come along and which must not have expired) or a
 * configured base identity. Anything else is rejected as AWS would.
 */
export const resolveCaller = (
  auth: SigV4Auth | undefined,
  securityToken: string | undefined,
  sessions: SessionStore,
  baseIdentities: Readonly<Record<string, BaseIdentity>>,
  now: number,
): CallerIdentity => {
  if (auth === undefined) throw new StsError("MissingAuthenticationToken");
  const session = sessions.get(auth.accessKeyId);
  if (session) {
    if (securityToken !== session.sessionToken) throw invalidToken();
    if (now >= session.expiration.getTime()) throw new StsError("ExpiredToken");
    return {
      accessKeyId: session.accessKeyId,
      arn: session.arn,
      userId: session.assumedRoleId,
      accountId: session.accountId,
      roleArn: session.roleArn,
      secretAccessKey: session.secretAccessKey,
    };
  }
  const base = Object.hasOwn(baseIdentities, auth.accessKeyId) ? baseIdentities[auth.accessKeyId] : undefined;
  if (base === undefined) throw invalidToken();
  if (securityToken !== base.sessionToken) throw invalidToken();
  return describeBaseIdentity(auth.accessKeyId, base);
};
