import type { FaultScope } from "../faults.js";
import type { JwtClaims } from "../jwt.js";
import type { BaseIdentity } from "./identity.js";
import type { IssuedCredentials } from "./issue.js";
import type { RoleTrust } from "./trust.js";

export type StsAction = "AssumeRole" | "AssumeRoleWithWebIdentity" | "GetCallerIdentity";

export interface StartStsEmulatorOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Milliseconds since the epoch; drives expirations and token expiry checks. Default `Date.now`. */
  now?: () => number;
  /** Long-term keys accepted as signers, by access key id. Default none. */
  baseIdentities?: Record<string, BaseIdentity>;
  /** Trust rules by role ARN; a role without an entry trusts everyone. */
  roles?: Record<string, RoleTrust>;
  /**
   * OIDC issuers registered in the emulated account; a web identity token from
   * any other issuer fails with InvalidIdentityToken. Default: accept any issuer.
   */
  oidcProviders?: string[];
  /** Caps the lifetime of issued sessions (DurationSeconds above it is shortened, not refused). */
  maxLifetimeSeconds?: number;
  /** Forces the lifetime of every issued session, whatever was asked. Changeable with `setLifetimeSeconds`. */
  lifetimeSeconds?: number;
  /**
   * Recompute SigV4 signatures with the signer's secret (issued sessions, and
   * base identities that have one) and answer SignatureDoesNotMatch on a
   * mismatch. Default false: only the key id, session token and scope are checked.
   */
  verifySignatures?: boolean;
  /** Larger request bodies are refused. Default 1 MiB. */
  maxBodyBytes?: number;
}

/** One request as the emulator saw it. Updated in place when the answer is sent. */
export interface StsCall {
  /** The `Action` parameter; empty when the request had none or could not be parsed. */
  action: string;
  /** The form (or query) fields, `WebIdentityToken` replaced by `<redacted>`. */
  params: Record<string, string>;
  method: string;
  /** Access key id the request was signed with (header or presigned query). */
  accessKeyId?: string;
  /** Region of the signature's credential scope. */
  region?: string;
  /** Whether an `X-Amz-Security-Token` came along. */
  sessionToken: boolean;
  /** Decoded claims of the web identity token, when it had any. */
  tokenClaims?: JwtClaims;
  /** HTTP status sent; 0 while the request is pending or was never answered. */
  status: number;
  /** STS error code, when the answer was an error document. */
  code?: string;
  /** Set when a queued fault decided (or delayed) the answer. */
  fault?: "error" | "raw" | "hang" | "trickle";
  requestId: string;
  /** When the request arrived, milliseconds since the epoch on the emulator's clock. */
  at: number;
}

/** A service error answered instead of the real result. */
export interface StsErrorFault extends FaultScope {
  /** STS error code, e.g. `Throttling`, `AccessDenied`, `InternalFailure`. */
  code: string;
  /** Default: the code's usual status (see `STS_ERRORS`), else 400. */
  status?: number;
  message?: string;
}

/** A response sent verbatim: malformed XML, a 200 carrying an error, a cut-off body. */
export interface StsRawFault extends FaultScope {
  status: number;
  body: string;
  /** Default `Content-Type: text/xml`. */
  headers?: Record<string, string>;
  /**
   * Advertised Content-Length. When larger than the body, the body is sent and
   * the connection dropped: the client sees a premature close mid-response.
   */
  contentLength?: number;
}

/** Holds requests: never answered, or answered normally after `ms`. */
export interface StsHangFault extends FaultScope {
  ms?: number;
}

/** Answers 200 at once, then a byte every `intervalMs`, never finishing: an idle timeout never trips. */
export interface StsTrickleFault extends FaultScope {
  /** Default 1 000. */
  intervalMs?: number;
}

export type StsFault =
  | { kind: "error"; fault: StsErrorFault }
  | { kind: "raw"; fault: StsRawFault }
  | { kind: "hang"; fault: StsHangFault }
  | { kind: "trickle"; fault: StsTrickleFault };

export interface StsEmulator {
  /** `http://127.0.0.1:<port>`: the `endpoint` for an STS client. */
  readonly url: string;
  readonly calls: readonly StsCall[];
  /** Every credential set handed out, in order (including `issueFor`). */
  readonly issued: readonly IssuedCredentials[];
  /** Queue a service error for the next request(s). */
  fail(fault: StsErrorFault): void;
  /** Answer every (matching) request with this error until `clearFaults`. */
  failAlways(fault: Omit<StsErrorFault, "times">): void;
  /** Queue a verbatim response. */
  injectRaw(fault: StsRawFault): void;
  /** Queue a hang: never answer (until close or client abort), or answer after `ms`. */
  hang(fault?: StsHangFault): void;
  /** Queue a trickle: status and headers at once, then a byte every `intervalMs`, never the end. */
  trickle(fault?: StsTrickleFault): void;
  clearFaults(): void;
  /** Force the lifetime of sessions issued from now on; undefined restores DurationSeconds. */
  setLifetimeSeconds(seconds: number | undefined): void;
  /**
   * Issue a session out of band (e.g. for the pod identity agent) that later
   * signed requests resolve to, as if AssumeRole had returned it.
   */
  issueFor(roleArn: string, sessionName: string, lifetimeSeconds?: number): IssuedCredentials;
  /**
   * The session an access key belongs to, if this emulator issued it (also
   * through `issueFor`) and did not revoke it — expired ones included. Lets
   * other emulators (the S3 front) check what STS handed out.
   */
  session(accessKeyId: string): IssuedCredentials | undefined;
  /** Invalidate issued credentials: their key then fails with InvalidClientTokenId. */
  revoke(accessKeyId: string): boolean;
  /** Clear `calls`, `issued` and queued faults. Issued sessions stay valid. */
  reset(): void;
  close(): Promise<void>;
}
