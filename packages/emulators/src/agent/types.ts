import type { StsEmulator } from "../sts/types.js";

export interface StartPodIdentityAgentOptions {
  /**
   * The value clients must send as `Authorization` (raw, no `Bearer`): the
   * projected service account token. Default: a random string.
   */
  token?: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /**
   * When set, requests whose `Host` (port ignored) differs are refused with 403,
   * as the agent refuses callers not addressing 169.254.170.23.
   */
  hostHeader?: string;
  /** `AccountId` in responses. Default: the role's account, else `123456789012`. */
  accountId?: string;
  /** Lifetime of credentials handed out. Default 21600 (6 h, as EKS Auth); see `setLifetimeSeconds`. */
  lifetimeSeconds?: number;
  /**
   * Milliseconds since the epoch, for expirations and the call log. Default
   * `Date.now`. Credentials minted through `sts` expire by the STS emulator's clock.
   */
  now?: () => number;
  /**
   * Mint credentials through this STS emulator (`issueFor`), so requests signed
   * with them resolve to the role's session there (GetCallerIdentity, AssumeRole).
   */
  sts?: StsEmulator;
  /** The role of the pod identity association. Default `arn:aws:iam::<account>:role/credbridge-pod-role`. */
  roleArn?: string;
  /** Session name prefix. Default `eks-credbridge`; a random suffix keeps sessions distinct. */
  sessionName?: string;
  /**
   * Shape of error bodies: `json` `{"Code","Message"}` (what the AWS SDKs surface
   * best) or `text` (what the real agent writes, Go's `http.Error`). Default `json`.
   */
  errorFormat?: "json" | "text";
}

/** Credentials the agent served. */
export interface AgentCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Whole seconds, exactly what the client was told. */
  expiration: Date;
  accountId: string;
  roleArn: string;
}

/** One request as the agent saw it. The token itself is never stored. */
export interface AgentCall {
  method: string;
  /** Path and query as requested. */
  path: string;
  host?: string;
  /** The caller's `User-Agent`: tells which client asked (e.g. `aws-sdk-go/…`). */
  userAgent?: string;
  tokenPresent: boolean;
  tokenMatched: boolean;
  /** HTTP status sent; 0 while pending or never answered. */
  status: number;
  fault?: "fail" | "truncated" | "missingField" | "expired" | "hang" | "trickle";
  /** Key id of the credentials in the response, when there were any. */
  accessKeyId?: string;
  at: number;
}

export interface AgentFaultTimes {
  /** How many requests the fault applies to; `Infinity` for all. Default 1. */
  times?: number;
}

export type AgentFault =
  | { kind: "fail"; status: number; body: string | undefined }
  | { kind: "truncated" }
  | { kind: "missingField"; name: string }
  | { kind: "expired" }
  | { kind: "hang"; ms: number | undefined }
  | { kind: "trickle"; intervalMs: number | undefined };

export interface PodIdentityAgent {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `<url>/v1/credentials`: the value for `AWS_CONTAINER_CREDENTIALS_FULL_URI`. */
  readonly credentialsUrl: string;
  /** The token clients must send. */
  readonly token: string;
  readonly calls: readonly AgentCall[];
  /** Credentials served intact (successes and `expired()` answers), in order. */
  readonly issued: readonly AgentCredentials[];
  setLifetimeSeconds(seconds: number): void;
  /** Answer with `status` and `body` (default a JSON error). */
  fail(fault: { status: number; body?: string } & AgentFaultTimes): void;
  /** Answer 200 with the first half of the credentials JSON. */
  truncated(scope?: AgentFaultTimes): void;
  /** Answer 200 with credentials lacking one field (e.g. `Token`). */
  missingField(name: string, scope?: AgentFaultTimes): void;
  /** Answer 200 with credentials whose Expiration has passed. */
  expired(scope?: AgentFaultTimes): void;
  /** Never answer (until close or client abort), or answer normally after `ms`. */
  hang(fault?: { ms?: number } & AgentFaultTimes): void;
  /** Answer 200 at once, then a byte every `intervalMs` (default 1 000), never the end. */
  trickle(fault?: { intervalMs?: number } & AgentFaultTimes): void;
  clearFaults(): void;
  /** Clear `calls`, `issued` and queued faults. */
  reset(): void;
  close(): Promise<void>;
}
