import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseRoleArn, rfc3339Seconds } from "@credbridge/core/wire";
import { FaultQueue } from "../faults.js";
import { hold } from "../internal/hold.js";
import { closeServer, sendBody, startHttpServer } from "../internal/http.js";
import { newSecretAccessKey, newSessionAccessKeyId, newSessionToken } from "../internal/ids.js";
import { DEFAULT_TRICKLE_INTERVAL_MS, trickle } from "../internal/trickle.js";
import type {
  AgentCall,
  AgentCredentials,
  AgentFault,
  PodIdentityAgent,
  StartPodIdentityAgentOptions,
} from "./types.js";

/** The path the EKS Pod Identity agent serves credentials on. */
export const POD_IDENTITY_CREDENTIALS_PATH = "/v1/credentials";
/** EKS Auth hands out pod identity sessions for six hours. */
export const DEFAULT_AGENT_LIFETIME_SECONDS = 6 * 3600;
export const DEFAULT_AGENT_ACCOUNT_ID = "123456789012";

export type {
  AgentCall,
  AgentCredentials,
  AgentFaultTimes,
  PodIdentityAgent,
  StartPodIdentityAgentOptions,
} from "./types.js";

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
  const trickles = new Set<NodeJS.Timeout>();

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
    sendBody(res, status, { "Content-Type": "application/json" }, body);
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
    sendBody(
      res,
      status,
      { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
      `${message}\n`,
    );
  };

  const credentialsBody = (c: AgentCredentials): Record<string, string> => ({
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: c.sessionToken,
    AccountId: c.accountId,
    Expiration: rfc3339Seconds(c.expiration),
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
    if (req.headers["user-agent"] !== undefined) call.userAgent = req.headers["user-agent"];
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
      if (!(await hold(fault.ms, res, pendingTimers))) return;
    }
    if (fault?.kind === "trickle") {
      call.fault = "trickle";
      call.status = 200;
      const headers = { "Content-Type": "application/json" };
      return trickle(res, 200, headers, fault.intervalMs ?? DEFAULT_TRICKLE_INTERVAL_MS, trickles);
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

  const { server, url } = await startHttpServer(
    (req, res) =>
      handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      }),
    options,
  );

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
    trickle: (f = {}) => faults.push({ kind: "trickle", intervalMs: f.intervalMs }, f),
    clearFaults: () => faults.clear(),
    reset: () => {
      calls.length = 0;
      issued.length = 0;
      faults.clear();
    },
    close: async () => {
      for (const timer of pendingTimers) clearTimeout(timer);
      pendingTimers.clear();
      for (const timer of trickles) clearInterval(timer);
      trickles.clear();
      await closeServer(server);
    },
  };
};
