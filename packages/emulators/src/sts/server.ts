import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { FaultQueue, type FaultScope } from "../faults.js";
import { BodyTooLargeError, closeServer, listen, readBody } from "../internal/http.js";
import { newRequestId } from "../internal/ids.js";
import { decodeJwtClaims, type JwtClaims } from "../jwt.js";
import { assumeRole } from "./actions/assume-role.js";
import { assumeRoleWithWebIdentity } from "./actions/assume-role-with-web-identity.js";
import type { ActionContext, ActionHandler } from "./actions/context.js";
import { getCallerIdentity } from "./actions/get-caller-identity.js";
import { StsError } from "./errors.js";
import { type BaseIdentity, type CallerIdentity, describeBaseIdentity, resolveCaller } from "./identity.js";
import { type IssuedCredentials, SessionStore } from "./issue.js";
import { parseAuthorizationHeader, parsePresignedQuery, type SigV4Auth } from "./sigv4-header.js";
import { verifySigV4 } from "./sigv4-verify.js";
import type { RoleTrust } from "./trust.js";
import { DEFAULT_DURATION_SECONDS, parseRoleArn } from "./validate.js";
import { errorXml, successXml } from "./xml.js";

export const STS_API_VERSION = "2011-06-15";
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const REDACTED = "<redacted>";

export type StsAction = "AssumeRole" | "AssumeRoleWithWebIdentity" | "GetCallerIdentity";

const ACTIONS: Readonly<Record<StsAction, ActionHandler>> = {
  AssumeRole: assumeRole,
  AssumeRoleWithWebIdentity: assumeRoleWithWebIdentity,
  GetCallerIdentity: getCallerIdentity,
};

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
  fault?: "error" | "raw" | "hang";
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

type StsFault =
  | { kind: "error"; fault: StsErrorFault }
  | { kind: "raw"; fault: StsRawFault }
  | { kind: "hang"; fault: StsHangFault };

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
  clearFaults(): void;
  /** Force the lifetime of sessions issued from now on; undefined restores DurationSeconds. */
  setLifetimeSeconds(seconds: number | undefined): void;
  /**
   * Issue a session out of band (e.g. for the pod identity agent) that later
   * signed requests resolve to, as if AssumeRole had returned it.
   */
  issueFor(roleArn: string, sessionName: string, lifetimeSeconds?: number): IssuedCredentials;
  /** Invalidate issued credentials: their key then fails with InvalidClientTokenId. */
  revoke(accessKeyId: string): boolean;
  /** Clear `calls`, `issued` and queued faults. Issued sessions stay valid. */
  reset(): void;
  close(): Promise<void>;
}

const redact = (params: URLSearchParams): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [key, value] of params) {
    if (!Object.hasOwn(out, key)) out[key] = key === "WebIdentityToken" ? REDACTED : value;
  }
  return out;
};

const firstParams = (params: URLSearchParams): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [key, value] of params) if (!Object.hasOwn(out, key)) out[key] = value;
  return out;
};

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const isAction = (action: string): action is StsAction => Object.hasOwn(ACTIONS, action);

/**
 * Starts an STS emulator speaking the query protocol on a loopback port, for
 * real SDK clients (serializer, SigV4 signer, retries) to run against.
 */
export const startStsEmulator = async (options: StartStsEmulatorOptions = {}): Promise<StsEmulator> => {
  const now = options.now ?? Date.now;
  const baseIdentities = { ...options.baseIdentities };
  // Fail at start, not on the first request, for an identity the emulator cannot describe.
  for (const [keyId, base] of Object.entries(baseIdentities)) describeBaseIdentity(keyId, base);
  const roles = { ...options.roles };
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let forcedLifetime = options.lifetimeSeconds;
  const sessions = new SessionStore(now);
  const calls: StsCall[] = [];
  const issued: IssuedCredentials[] = [];
  const faults = new FaultQueue<StsFault>();
  const pendingTimers = new Set<NodeJS.Timeout>();

  const lifetimeSeconds = (requested: number | undefined): number =>
    forcedLifetime ?? Math.min(requested ?? DEFAULT_DURATION_SECONDS, options.maxLifetimeSeconds ?? Infinity);

  const send = (
    res: ServerResponse,
    call: StsCall,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void => {
    call.status = status;
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, {
      "Content-Type": "text/xml",
      "x-amzn-RequestId": call.requestId,
      "Content-Length": String(Buffer.byteLength(body)),
      ...headers,
    });
    res.end(body);
  };

  const sendError = (res: ServerResponse, call: StsCall, error: StsError): void => {
    call.code = error.code;
    send(res, call, error.status, errorXml(error.code, error.message, error.status, call.requestId));
  };

  const sendRaw = (res: ServerResponse, call: StsCall, fault: StsRawFault): void => {
    call.status = fault.status;
    if (res.destroyed) return;
    const length = Buffer.byteLength(fault.body);
    res.writeHead(fault.status, {
      "Content-Type": "text/xml",
      "x-amzn-RequestId": call.requestId,
      "Content-Length": String(fault.contentLength ?? length),
      ...fault.headers,
    });
    if (fault.contentLength !== undefined && fault.contentLength > length) {
      res.write(fault.body, () => res.destroy());
    } else {
      res.end(fault.body);
    }
  };

  const delay = (ms: number | undefined, res: ServerResponse): Promise<boolean> =>
    new Promise((resolve) => {
      // Without `ms` the request is held until the client gives up or close() drops it.
      if (ms === undefined) {
        res.once("close", () => resolve(false));
        return;
      }
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        resolve(!res.destroyed);
      }, ms);
      pendingTimers.add(timer);
    });

  const dispatch = (
    action: string,
    params: Record<string, string>,
    auth: SigV4Auth | undefined,
    authError: StsError | undefined,
    securityToken: string | undefined,
    received: Parameters<typeof verifySigV4>[0],
    requestId: string,
  ): string => {
    if (!action) throw new StsError("MissingAction", "Missing Action", 400);
    if (params.Version !== STS_API_VERSION || !isAction(action)) {
      throw new StsError(
        "InvalidAction",
        `Could not find operation ${action} for version ${params.Version ?? "NO_VERSION_SPECIFIED"}`,
      );
    }
    let caller: CallerIdentity | undefined;
    const context: ActionContext = {
      params,
      now: now(),
      caller: () => {
        if (caller) return caller;
        if (authError) throw authError;
        const resolved = resolveCaller(auth, securityToken, sessions, baseIdentities, now());
        if (options.verifySignatures && resolved.secretAccessKey !== undefined && auth !== undefined) {
          if (!verifySigV4(received, auth, resolved.secretAccessKey))
            throw new StsError("SignatureDoesNotMatch");
        }
        caller = resolved;
        return caller;
      },
      sessions,
      roles,
      oidcProviders: options.oidcProviders,
      lifetimeSeconds,
      onIssued: (credentials) => issued.push(credentials),
    };
    return successXml(action, ACTIONS[action](context), requestId);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? "";
    const call: StsCall = {
      action: "",
      params: {},
      method,
      sessionToken: false,
      status: 0,
      requestId: newRequestId(),
      at: now(),
    };
    calls.push(call);
    try {
      const url = new URL(req.url ?? "/", "http://sts.invalid");
      if (url.pathname !== "/") throw new StsError("NotFound", `No such resource: ${url.pathname}`, 404);
      if (method !== "POST" && method !== "GET") {
        throw new StsError("MethodNotAllowed", `Method ${method} is not allowed; use POST (or GET)`, 405);
      }
      let body: Buffer;
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          throw new StsError("ValidationError", `Request body exceeds ${maxBodyBytes} bytes`);
        }
        throw error;
      }
      let form: URLSearchParams;
      if (method === "POST") {
        const contentType = (header(req, "content-type") ?? "").toLowerCase();
        if (!contentType.startsWith("application/x-www-form-urlencoded")) {
          throw new StsError(
            "ValidationError",
            `Unsupported Content-Type '${contentType}': the query protocol posts application/x-www-form-urlencoded`,
          );
        }
        form = new URLSearchParams(body.toString("utf8"));
      } else {
        form = url.searchParams;
      }
      const params = firstParams(form);
      call.action = params.Action ?? "";
      call.params = redact(form);
      if (params.WebIdentityToken !== undefined) {
        try {
          call.tokenClaims = decodeJwtClaims(params.WebIdentityToken);
        } catch {
          // Logged as redacted only; the action answers InvalidIdentityToken.
        }
      }

      let auth: SigV4Auth | undefined;
      let authError: StsError | undefined;
      try {
        const authorization = header(req, "authorization");
        auth =
          authorization !== undefined
            ? parseAuthorizationHeader(authorization)
            : parsePresignedQuery(url.searchParams);
      } catch (error) {
        if (!(error instanceof StsError)) throw error;
        authError = error;
      }
      if (auth) {
        call.accessKeyId = auth.accessKeyId;
        call.region = auth.region;
      }
      const securityToken =
        header(req, "x-amz-security-token") ?? url.searchParams.get("X-Amz-Security-Token") ?? undefined;
      call.sessionToken = securityToken !== undefined;

      const queued = faults.take(call.action);
      if (queued?.kind === "error") {
        call.fault = "error";
        const { code, status, message } = queued.fault;
        return sendError(res, call, new StsError(code, message, status));
      }
      if (queued?.kind === "raw") {
        call.fault = "raw";
        return sendRaw(res, call, queued.fault);
      }
      if (queued?.kind === "hang") {
        call.fault = "hang";
        if (!(await delay(queued.fault.ms, res))) return;
      }

      const received = {
        method,
        path: (req.url ?? "/").split("?")[0]!,
        rawQuery: url.search.slice(1),
        headers: req.headers,
        body,
      };
      send(
        res,
        call,
        200,
        dispatch(call.action, params, auth, authError, securityToken, received, call.requestId),
      );
    } catch (error) {
      sendError(
        res,
        call,
        error instanceof StsError
          ? error
          : new StsError("InternalFailure", "The emulator failed to handle the request."),
      );
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  const url = await listen(server, options.host ?? "127.0.0.1", options.port ?? 0);

  return {
    url,
    calls,
    issued,
    fail: (fault) => faults.push({ kind: "error", fault }, fault),
    failAlways: (fault) =>
      faults.push({ kind: "error", fault }, { ...fault, times: Number.POSITIVE_INFINITY }),
    injectRaw: (fault) => faults.push({ kind: "raw", fault }, fault),
    hang: (fault = {}) => faults.push({ kind: "hang", fault }, fault),
    clearFaults: () => faults.clear(),
    setLifetimeSeconds: (seconds) => {
      forcedLifetime = seconds;
    },
    issueFor: (roleArn, sessionName, seconds) => {
      if (!parseRoleArn(roleArn)) throw new TypeError(`issueFor: not a role ARN: ${roleArn}`);
      const credentials = sessions.issue({
        roleArn,
        sessionName,
        lifetimeSeconds: seconds ?? forcedLifetime ?? DEFAULT_DURATION_SECONDS,
        issuedBy: "issueFor",
      });
      issued.push(credentials);
      return credentials;
    },
    revoke: (accessKeyId) => sessions.revoke(accessKeyId),
    reset: () => {
      calls.length = 0;
      issued.length = 0;
      faults.clear();
    },
    close: async () => {
      for (const timer of pendingTimers) clearTimeout(timer);
      pendingTimers.clear();
      await closeServer(server);
    },
  };
};
