import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { FaultQueue } from "../faults.js";
import { closeServer, listen } from "../internal/http.js";
import { newSecretAccessKey, newSessionAccessKeyId, newSessionToken } from "../internal/ids.js";
import type { StsEmulator } from "../sts/server.js";
import { parseRoleArn } from "../sts/validate.js";

/** The path the EKS Pod Identity agent serves credentials on. */
export const POD_IDENTITY_CREDENTIALS_PATH = "/v1/credentials";
/** EKS Auth hands out pod identity sessions for six hours. */
export const DEFAULT_AGENT_LIFETIME_SECONDS = 6 * 3600;
export const DEFAULT_AGENT_ACCOUNT_ID = "123456789012";

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
  /** `AccountId` in responses. Default: the role's account, else {@link DEFAULT_AGENT_ACCOUNT_ID}. */
  accountId?: string;
  /** Lifetime of credentials handed out. Default {@link DEFAULT_AGENT_LIFETIME_SECONDS}; see `setLifetimeSeconds`. */
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
  tokenPresent: boolean;
  tokenMatched: boolean;
  /** HTTP status sent; 0 while pending or never answered. */
  status: number;
  fault?: "fail" | "truncated" | "missingField" | "expired" | "hang";
  /** Key id of the credentials in the response, when there were any. */
  accessKeyId?: string;
  at: number;
}

export interface AgentFaultTimes {
  /** How many requests the fault applies to; `Infinity` for all. Default 1. */
  times?: number;
}

type AgentFault =
  | { kind: "fail"; status: number; body: string | undefined }
  | { kind: "truncated" }
  | { kind: "missingField"; name: string }
  | { kind: "expired" }
  | { kind: "hang"; ms: number | undefined };

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
  clearFaults(): void;
  /** Clear `calls`, `issued` and queued faults. */
  reset(): void;
  close(): Promise<void>;
}

/** RFC 3339 in UTC without fraction: strict parsers (v3, boto) accept it. */
const rfc3339 = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");

const sameSecret = (a: string, b: string): boolean => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/** `169.254.170.23:80` → `169.254.170.23`, `[fd00:ec2::23]` → `fd00:ec2::23`. */
const hostOnly = (host: string): string => {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  const colons = host.split(":").length - 1;
  return (colons === 1 ? host.slice(0, host.indexOf(":")) : host).toLowerCase();
};

/**
 * Starts an emulator of the EKS Pod Identity agent's credentials endpoint
 * (`GET /v1/credentials`, raw token in `Authorization`) on a loopback port.
 */
export const startPodIdentityAgent = async (
  options: StartPodIdentityAgentOptions = {},
): Promise<PodIdentityAgent> => {
  const token = options.token ?? randomBytes(24).toString("base64url");
  const now = options.now ?? Date.now;
  const roleArn =
    options.roleArn ??
    `arn:aws:iam::${options.accountId ?? DEFAULT_AGENT_ACCOUNT_ID}:role/credbridge-pod-role`;
  const role = parseRoleArn(roleArn);
  if (!role) throw new TypeError(`roleArn is not a role ARN: ${roleArn}`);
  const accountId = options.accountId ?? role.accountId;
  const sessionPrefix = options.sessionName ?? "eks-credbridge";
  const errorFormat = options.errorFormat ?? "json";
  let lifetime = options.lifetimeSeconds ?? DEFAULT_AGENT_LIFETIME_SECONDS;
  const calls: AgentCall[] = [];
  const issued: AgentCredentials[] = [];
  const faults = new FaultQueue<AgentFault>();
  const pendingTimers = new Set<NodeJS.Timeout>();

  const mint = (lifetimeSeconds: number): AgentCredentials => {
    if (options.sts) {
      const sessionName = `${sessionPrefix}-${randomUUID()}`.slice(0, 64);
      const c = options.sts.issueFor(roleArn, sessionName, lifetimeSeconds);
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken,
        expiration: c.expiration,
        accountId,
        roleArn,
      };
    }
    return {
      accessKeyId: newSessionAccessKeyId(),
      secretAccessKey: newSecretAccessKey(),
      sessionToken: newSessionToken(),
      expiration: new Date(Math.floor((now() + lifetimeSeconds * 1000) / 1000) * 1000),
      accountId,
      roleArn,
    };
  };

  const sendJson = (res: ServerResponse, call: AgentCall, status: number, body: string): void => {
    call.status = status;
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, {
      "Content-Type": "application/json",
      "Content-Length": String(Buffer.byteLength(body)),
    });
    res.end(body);
  };

  const sendError = (
    res: ServerResponse,
    call: AgentCall,
    status: number,
    code: string,
    message: string,
  ): void => {
    if (errorFormat === "json") {
      sendJson(res, call, status, JSON.stringify({ Code: code, Message: message }));
      return;
    }
    call.status = status;
    if (res.destroyed || res.headersSent) return;
    const body = `${message}\n`;
    res.writeHead(status, {
      "Content-Type": "text/plain; charset=utf-8",
      "X-Content-Type-Options": "nosniff",
      "Content-Length": String(Buffer.byteLength(body)),
    });
    res.end(body);
  };

  const delay = (ms: number | undefined, res: ServerResponse): Promise<boolean> =>
    new Promise((resolve) => {
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

  const credentialsBody = (c: AgentCredentials): Record<string, string> => ({
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: c.sessionToken,
    AccountId: c.accountId,
    Expiration: rfc3339(c.expiration),
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? "";
    const path = req.url ?? "/";
    const authorization = req.headers.authorization;
    const call: AgentCall = {
      method,
      path,
      tokenPresent: authorization !== undefined && authorization !== "",
      tokenMatched: authorization !== undefined && sameSecret(authorization, token),
      status: 0,
      at: now(),
    };
    if (req.headers.host !== undefined) call.host = req.headers.host;
    calls.push(call);
    // The body is never used; drain it so keep-alive connections stay usable.
    req.resume();

    if (path.split("?")[0] !== POD_IDENTITY_CREDENTIALS_PATH) {
      return sendError(res, call, 404, "NotFound", `No handler for ${path.split("?")[0]}`);
    }
    if (method !== "GET") {
      res.setHeader("Allow", "GET");
      return sendError(res, call, 405, "MethodNotAllowed", `Method ${method} is not allowed; use GET`);
    }
    if (
      options.hostHeader !== undefined &&
      hostOnly(req.headers.host ?? "") !== hostOnly(options.hostHeader)
    ) {
      return sendError(
        res,
        call,
        403,
        "AccessDeniedException",
        `Access Denied. Called agent through invalid address, please use either [${options.hostHeader}] address not ${req.headers.host ?? ""}`,
      );
    }
    if (!call.tokenPresent) {
      return sendError(res, call, 400, "InvalidParameterException", "Service account token cannot be empty");
    }
    if (!call.tokenMatched) {
      return sendError(
        res,
        call,
        403,
        "AccessDeniedException",
        "Access Denied. The service account token is not valid",
      );
    }

    const fault = faults.take();
    if (fault?.kind === "fail") {
      call.fault = "fail";
      const body = fault.body ?? JSON.stringify({ Code: "InternalError", Message: "injected failure" });
      return sendJson(res, call, fault.status, body);
    }
    if (fault?.kind === "hang") {
      call.fault = "hang";
      if (!(await delay(fault.ms, res))) return;
    }
    const credentials = mint(fault?.kind === "expired" ? -60 : lifetime);
    const body = credentialsBody(credentials);
    if (fault?.kind === "truncated") {
      call.fault = "truncated";
      const json = JSON.stringify(body);
      return sendJson(res, call, 200, json.slice(0, Math.floor(json.length / 2)));
    }
    if (fault?.kind === "missingField") {
      call.fault = "missingField";
      delete body[fault.name];
      return sendJson(res, call, 200, JSON.stringify(body));
    }
    if (fault?.kind === "expired") call.fault = "expired";
    call.accessKeyId = credentials.accessKeyId;
    issued.push(credentials);
    sendJson(res, call, 200, JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const url = await listen(server, options.host ?? "127.0.0.1", options.port ?? 0);

  return {
    url,
    credentialsUrl: `${url}${POD_IDENTITY_CREDENTIALS_PATH}`,
    token,
    calls,
    issued,
    setLifetimeSeconds: (seconds) => {
      lifetime = seconds;
    },
    fail: (f) => faults.push({ kind: "fail", status: f.status, body: f.body }, f),
    truncated: (scope = {}) => faults.push({ kind: "truncated" }, scope),
    missingField: (name, scope = {}) => faults.push({ kind: "missingField", name }, scope),
    expired: (scope = {}) => faults.push({ kind: "expired" }, scope),
    hang: (f = {}) => faults.push({ kind: "hang", ms: f.ms }, f),
    clearFaults: () => faults.clear(),
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
