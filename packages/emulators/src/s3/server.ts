import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, readBody, sendBody, startHttpServer } from "../internal/http.js";
import { newRequestId } from "../internal/ids.js";
import { parseAuthorizationHeader } from "../sigv4/header.js";
import { type ReceivedRequest, receivedRequest } from "../sigv4/verify.js";
import { authenticateS3Request, payloadSigning } from "./authenticate.js";
import { S3Error, s3ErrorXml } from "./errors.js";
import { s3Operation } from "./operation.js";
import type { S3Front, S3FrontRequest, StartS3FrontOptions } from "./types.js";

export type { S3Front, S3FrontRequest, StartS3FrontOptions } from "./types.js";

const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Not forwarded: they describe this hop, and the body is re-sent with its own length. */
const HOP_HEADERS = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "host",
  "content-length",
  "expect",
]);

const claimedKey = (req: IncomingMessage, url: URL): string | undefined => {
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    try {
      return parseAuthorizationHeader(authorization, "s3").accessKeyId;
    } catch {
      return undefined;
    }
  }
  return url.searchParams.get("X-Amz-Credential")?.split("/")[0];
};

const sendError = (req: IncomingMessage, res: ServerResponse, record: S3FrontRequest, error: S3Error) => {
  record.status = error.status;
  record.code = error.code;
  // HEAD answers have no body: clients fall back on the status code.
  const body = req.method === "HEAD" ? "" : s3ErrorXml(error, record.requestId);
  sendBody(
    res,
    error.status,
    { "Content-Type": "application/xml", "x-amz-request-id": record.requestId },
    body,
  );
};

/**
 * Starts an S3 front on loopback: every request must be SigV4-signed (service
 * `s3`) with live credentials the STS emulator (or the Pod Identity agent
 * through it) issued; checked requests go on to an upstream S3 such as
 * moto_server, which stores objects but checks no signature. Refusals are the
 * XML errors S3 itself sends. Each request is logged with the key that signed it.
 */
export const startS3Front = async (options: StartS3FrontOptions): Promise<S3Front> => {
  const upstream = new URL(options.upstream);
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const requests: S3FrontRequest[] = [];

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    record: S3FrontRequest,
    received: ReceivedRequest,
  ) =>
    new Promise<void>((resolve) => {
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = value;
      }
      headers["content-length"] = String(received.body.length);
      // The path exactly as received (it is what was signed), always on the upstream's origin.
      const query = received.rawQuery === "" ? "" : `?${received.rawQuery}`;
      const target = `${upstream.origin}${received.path}${query}`;
      const outgoing = httpRequest(target, { method: received.method, headers }, (answer) => {
        record.status = answer.statusCode ?? 502;
        const copied: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && name !== "connection" && name !== "keep-alive") copied[name] = value;
        }
        res.writeHead(record.status, copied);
        answer.pipe(res);
        answer.once("end", resolve);
        answer.once("error", () => {
          res.destroy();
          resolve();
        });
      });
      outgoing.once("error", (error) => {
        sendError(
          req,
          res,
          record,
          new S3Error("InternalError", `upstream S3 unreachable: ${error.message}`),
        );
        resolve();
      });
      record.forwarded = true;
      outgoing.end(received.body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://s3.invalid");
    const record: S3FrontRequest = {
      method: req.method ?? "",
      path: url.pathname,
      operation: s3Operation(req.method ?? "", url.pathname, url.search.slice(1), req.headers),
      payload: payloadSigning({ headers: req.headers, rawQuery: url.search.slice(1) }),
      status: 0,
      forwarded: false,
      requestId: newRequestId(),
      at: now(),
    };
    const key = claimedKey(req, url);
    if (key !== undefined) record.accessKeyId = key;
    if (req.headers["user-agent"] !== undefined) record.userAgent = req.headers["user-agent"];
    requests.push(record);
    try {
      if (!(req.url ?? "").startsWith("/")) {
        throw new S3Error("InvalidRequest", `Request target must be a path, got '${req.url ?? ""}'`);
      }
      const body = await readBody(
        req,
        maxBodyBytes,
        () => new S3Error("EntityTooLarge", `Request body exceeds ${maxBodyBytes} bytes`),
      );
      const received = receivedRequest(req, url, body);
      authenticateS3Request(received, options.sessions, now());
      await forward(req, res, record, received);
    } catch (error) {
      sendError(
        req,
        res,
        record,
        error instanceof S3Error
          ? error
          : new S3Error("InternalError", "The S3 front failed to handle the request."),
      );
    }
  };

  const { server, url } = await startHttpServer(handle, options);
  return {
    url,
    requests,
    reset: () => {
      requests.length = 0;
    },
    close: () => closeServer(server),
  };
};
