import type { IncomingMessage, ServerResponse } from "node:http";
import { parseRoleArn } from "@credbridge/core/wire";
import { FaultQueue } from "../faults.js";
import { hold } from "../internal/hold.js";
import { closeServer, readBody, sendBody, startHttpServer } from "../internal/http.js";
import { newRequestId } from "../internal/ids.js";
import { DEFAULT_TRICKLE_INTERVAL_MS, trickle } from "../internal/trickle.js";
import { decodeJwtClaims } from "../jwt.js";
import { verifySigV4 } from "../sigv4/verify.js";
import { assumeRole } from "./actions/assume-role.js";
import { assumeRoleWithWebIdentity } from "./actions/assume-role-with-web-identity.js";
import type { ActionContext, ActionHandler } from "./actions/context.js";
import { getCallerIdentity } from "./actions/get-caller-identity.js";
import { StsError } from "./errors.js";
import { type CallerIdentity, describeBaseIdentity, resolveCaller } from "./identity.js";
import { type IssuedCredentials, SessionStore } from "./issue.js";
import { parseStsRequest, type StsRequest } from "./request.js";
import type {
  StartStsEmulatorOptions,
  StsAction,
  StsCall,
  StsEmulator,
  StsFault,
  StsRawFault,
} from "./types.js";
import { DEFAULT_DURATION_SECONDS } from "./validate.js";
import { errorXml, successXml } from "./xml.js";

export type {
  StartStsEmulatorOptions,
  StsAction,
  StsCall,
  StsEmulator,
  StsErrorFault,
  StsHangFault,
  StsRawFault,
  StsTrickleFault,
} from "./types.js";

export const STS_API_VERSION = "2011-06-15";
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const ACTIONS: Readonly<Record<StsAction, ActionHandler>> = {
  AssumeRole: assumeRole,
  AssumeRoleWithWebIdentity: assumeRoleWithWebIdentity,
  GetCallerIdentity: getCallerIdentity,
};

const isAction = (action: string): action is StsAction => Object.hasOwn(ACTIONS, action);

const send = (res: ServerResponse, call: StsCall, status: number, body: string): void => {
  call.status = status;
  sendBody(res, status, { "Content-Type": "text/xml", "x-amzn-RequestId": call.requestId }, body);
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
  const trickles = new Set<NodeJS.Timeout>();

  const lifetimeSeconds = (requested: number | undefined): number =>
    forcedLifetime ?? Math.min(requested ?? DEFAULT_DURATION_SECONDS, options.maxLifetimeSeconds ?? Infinity);

  /** Runs the action and returns the success document, or throws the StsError to answer. */
  const dispatch = (action: string, request: StsRequest, requestId: string): string => {
    const { params, auth, authError, securityToken, received } = request;
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
    // Logged on arrival, so a test sees a hung request while it hangs.
    calls.push(call);
    try {
      const url = new URL(req.url ?? "/", "http://sts.invalid");
      if (url.pathname !== "/") throw new StsError("NotFound", `No such resource: ${url.pathname}`, 404);
      if (method !== "POST" && method !== "GET") {
        throw new StsError("MethodNotAllowed", `Method ${method} is not allowed; use POST (or GET)`, 405);
      }
      const body = await readBody(
        req,
        maxBodyBytes,
        () => new StsError("ValidationError", `Request body exceeds ${maxBodyBytes} bytes`),
      );
      const request = parseStsRequest(req, url, body);
      call.action = request.params.Action ?? "";
      call.params = request.loggable;
      if (request.params.WebIdentityToken !== undefined) {
        try {
          call.tokenClaims = decodeJwtClaims(request.params.WebIdentityToken);
        } catch {
          // Logged as redacted only; the action answers InvalidIdentityToken.
        }
      }
      if (request.auth) {
        call.accessKeyId = request.auth.accessKeyId;
        call.region = request.auth.region;
      }
      call.sessionToken = request.securityToken !== undefined;

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
        if (!(await hold(queued.fault.ms, res, pendingTimers))) return;
      }
      if (queued?.kind === "trickle") {
        call.fault = "trickle";
        call.status = 200;
        const headers = { "Content-Type": "text/xml", "x-amzn-RequestId": call.requestId };
        return trickle(res, 200, headers, queued.fault.intervalMs ?? DEFAULT_TRICKLE_INTERVAL_MS, trickles);
      }
      send(res, call, 200, dispatch(call.action, request, call.requestId));
    } catch (error) {
      // Never crash on a request: anything unexpected is an InternalFailure answer.
      sendError(
        res,
        call,
        error instanceof StsError
          ? error
          : new StsError("InternalFailure", "The emulator failed to handle the request."),
      );
    }
  };

  const { server, url } = await startHttpServer(handle, options);

  return {
    url,
    calls,
    issued,
    fail: (fault) => faults.push({ kind: "error", fault }, fault),
    failAlways: (fault) =>
      faults.push({ kind: "error", fault }, { ...fault, times: Number.POSITIVE_INFINITY }),
    injectRaw: (fault) => faults.push({ kind: "raw", fault }, fault),
    hang: (fault = {}) => faults.push({ kind: "hang", fault }, fault),
    trickle: (fault = {}) => faults.push({ kind: "trickle", fault }, fault),
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
    session: (accessKeyId) => sessions.get(accessKeyId),
    revoke: (accessKeyId) => sessions.revoke(accessKeyId),
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
