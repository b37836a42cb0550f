import { parseRoleArn } from "@credbridge/core/wire";
import {
  newSecretAccessKey,
  newSessionAccessKeyId,
  newSessionToken,
  stableUniqueId,
} from "../internal/ids.js";

/** Temporary credentials the emulator handed out, with the identity they carry. */
export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Whole seconds, exactly what the client was told. */
  expiration: Date;
  roleArn: string;
  sessionName: string;
  /** `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  arn: string;
  /** `AROA…:<session>`. */
  assumedRoleId: string;
  accountId: string;
  /** The action (or `issueFor` for out-of-band issuing) that created the session. */
  issuedBy: "AssumeRole" | "AssumeRoleWithWebIdentity" | "issueFor";
  /** The access key that signed the AssumeRole creating this session. */
  parentAccessKeyId?: string;
}

export interface IssueRequest {
  roleArn: string;
  sessionName: string;
  lifetimeSeconds: number;
  issuedBy: IssuedCredentials["issuedBy"];
  parentAccessKeyId?: string | undefined;
}

/**
 * Every session the emulator created, by access key id, so later requests
 * signed with those keys resolve to their assumed-role identity. Owned by one
 * emulator instance: no module-level state.
 */
export class SessionStore {
  readonly #sessions = new Map<string, IssuedCredentials>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  issue(request: IssueRequest): IssuedCredentials {
    const role = parseRoleArn(request.roleArn);
    if (!role) throw new TypeError(`not a role ARN: ${request.roleArn}`);
    // Whole seconds: the wire format has no fraction, and tests compare the two.
    const expiration = new Date(Math.floor((this.#now() + request.lifetimeSeconds * 1000) / 1000) * 1000);
    const credentials: IssuedCredentials = {
      accessKeyId: newSessionAccessKeyId(),
      secretAccessKey: newSecretAccessKey(),
      sessionToken: newSessionToken(),
      expiration,
      roleArn: request.roleArn,
      sessionName: request.sessionName,
      arn: `arn:${role.partition}:sts::${role.accountId}:assumed-role/${role.roleName}/${request.sessionName}`,
      assumedRoleId: `${stableUniqueId("AROA", request.roleArn)}:${request.sessionName}`,
      accountId: role.accountId,
      issuedBy: request.issuedBy,
      ...(request.parentAccessKeyId === undefined ? {} : { parentAccessKeyId: request.parentAccessKeyId }),
    };
    this.#sessions.set(credentials.accessKeyId, credentials);
    return credentials;
  }

  get(accessKeyId: string): IssuedCredentials | undefined {
    return this.#sessions.get(accessKeyId);
  }

  /** Forgets a session: its key then fails with InvalidClientTokenId. */
  revoke(accessKeyId: string): boolean {
    return this.#sessions.delete(accessKeyId);
  }
}
