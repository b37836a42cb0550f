import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { hostLiteral } from "@credbridge/core/wire";

/** Raised by {@link readBody} when a request body exceeds the limit. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/**
 * Reads a request body up to `limit` bytes. Emulators parse whatever a client
 * sends, so the cap keeps a runaway client from exhausting memory. Past it,
 * rejects with `tooLarge()`: each service names the overflow in its own error.
 */
export const readBody = (
  req: IncomingMessage,
  limit: number,
  tooLarge: () => Error = () => new BodyTooLargeError(`request body larger than ${limit} bytes`),
): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

/**
 * Answers with the whole body and its length, unless the response is gone or
 * already begun (a fault or a hang may have ended it first).
 */
export const sendBody = (
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: string,
): void => {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { ...headers, "Content-Length": String(Buffer.byteLength(body)) });
  res.end(body);
};

/** `http://host:port` for a listening server, bracketing IPv6 hosts. */
export const serverUrl = (server: Server): string => {
  const address = server.address() as AddressInfo;
  return `http://${hostLiteral(address.address)}:${address.port}`;
};

/** Listens on host:port (port 0 picks a free one) and resolves once bound. */
export const listen = (server: Server, host: string, port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve(serverUrl(server));
    });
  });

/**
 * Serves an async handler on `host:port`, loopback and a free port unless
 * told otherwise: an emulator is for tests on this machine. The handler
 * answers its own failures; nothing it rejects with reaches the server.
 */
export const startHttpServer = async (
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  at: { host?: string; port?: number },
): Promise<{ server: Server; url: string }> => {
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  return { server, url: await listen(server, at.host ?? "127.0.0.1", at.port ?? 0) };
};

/**
 * Stops a server now: keep-alive sockets and requests an emulator is deliberately
 * holding open (hang faults) would otherwise keep `close()` pending forever.
 */
export const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
