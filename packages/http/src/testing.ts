/**
 * Test helpers for servers built on @credbridge/http: clients that send the
 * bytes they are given, exactly and as slowly as told, so tests can do what no
 * well-behaved client would.
 */
import { connect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server sent. */
  raw: string;
}

const parse = (raw: string): RawResponse => {
  const head = raw.indexOf("\r\n\r\n");
  const lines = raw.slice(0, head === -1 ? raw.length : head).split("\r\n");
  const status = Number(lines[0]?.split(" ")[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body: head === -1 ? "" : raw.slice(head + 4), raw };
};

/** Where a test client connects: a loopback port, over TLS when `tls` is given (CA, server name). */
export interface Endpoint {
  port: number;
  /** Default 127.0.0.1. */
  host?: string | undefined;
  tls?: ConnectionOptions | undefined;
}

const endpointOf = (target: number | Endpoint): Endpoint =>
  typeof target === "number" ? { port: target } : target;

/** A TCP connection, or a TLS one whose handshake starts at once. */
const open = (endpoint: Endpoint): Socket =>
  endpoint.tls
    ? tlsConnect({ host: endpoint.host ?? "127.0.0.1", port: endpoint.port, ...endpoint.tls })
    : connect({ host: endpoint.host ?? "127.0.0.1", port: endpoint.port });

/**
 * Sends bytes exactly as given (no client normalizing the path or headers) and
 * reads until the server closes or the first response is complete.
 */
export const rawRequest = (
  target: number | Endpoint,
  request: string | Buffer,
  timeoutMs = 5_000,
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const socket = open(endpointOf(target));
    let raw = "";
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(raw));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms; got ${JSON.stringify(raw)}`));
    }, timeoutMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      raw += chunk;
      const r = parse(raw);
      const length = r.headers["content-length"];
      if (length !== undefined && Buffer.byteLength(r.body, "latin1") >= Number(length)) done();
    });
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", (error) => {
      // A reset after the response was read still counts as a response.
      if (raw) done();
      else {
        clearTimeout(timer);
        reject(error);
      }
    });
    if (typeof request === "string") socket.write(request, "latin1");
    else socket.write(request);
  });

/** How a held connection ended. */
export interface Held {
  /** When the server closed it, in ms after it was opened; undefined while open. */
  closedAfterMs: number | undefined;
  /** What the server sent (latin1). */
  received: string;
  /** Bytes of `drip` sent before the close. */
  dripped: number;
}

export interface HoldOptions {
  /** Sent at once (after the TLS handshake, for TLS). */
  send?: string | Buffer | undefined;
  /** Then sent one byte every `dripMs`. */
  drip?: string | undefined;
  dripMs?: number | undefined;
  /** For TLS: open the TCP connection only and never start the handshake. */
  plainTcp?: boolean | undefined;
  /**
   * False: read nothing the server sends until `resume()` (an answer the
   * client never takes stays in the kernel's buffers and the server's).
   * Default true.
   */
  read?: boolean | undefined;
}

/**
 * A connection a test holds open, sending what `options` say and nothing else:
 * `closed` resolves when the server ends it; `close()` ends it from this side.
 */
export const holdConnection = (target: number | Endpoint, options: HoldOptions = {}) => {
  const endpoint = endpointOf(target);
  const socket = options.plainTcp ? open({ ...endpoint, tls: undefined }) : open(endpoint);
  const started = performance.now();
  const held: Held = { closedAfterMs: undefined, received: "", dripped: 0 };
  let timer: NodeJS.Timeout | undefined;
  const ready = endpoint.tls && !options.plainTcp ? "secureConnect" : "connect";
  socket.setEncoding("latin1");
  let markSent: () => void = () => {};
  const sent = new Promise<void>((resolve) => {
    markSent = resolve;
  });
  if (options.read === false) socket.pause();
  socket.once(ready, () => {
    if (options.send !== undefined) socket.write(options.send, () => markSent());
    else markSent();
    const drip = options.drip;
    if (drip) {
      timer = setInterval(() => {
        if (held.dripped < drip.length && !socket.destroyed) socket.write(drip[held.dripped++]!, "latin1");
      }, options.dripMs ?? 100);
    }
  });
  socket.on("data", (d: string) => {
    held.received += d;
  });
  // A reset is a close too: when it came is what counts.
  socket.on("error", () => {});
  const closed = new Promise<Held>((resolve) => {
    socket.once("close", () => {
      markSent();
      clearInterval(timer);
      held.closedAfterMs = performance.now() - started;
      resolve(held);
    });
  });
  return {
    held,
    closed,
    /** Resolves once `send` was handed to the kernel in full, or the connection closed. */
    sent,
    /** Resolves once connected (and, for TLS, after the handshake); rejects if the server closed first. */
    opened: new Promise<void>((resolve, reject) => {
      socket.once(ready, () => resolve());
      socket.once("close", () => reject(new Error("closed before it was open")));
    }),
    /** Starts reading (after `read: false`): what the server sent arrives, then its close if it cut the connection. */
    resume: () => {
      socket.resume();
    },
    close: () => {
      clearInterval(timer);
      socket.destroy();
      return closed;
    },
  };
};

/** A request head with `Host` set for the port unless `headers` sets one (`undefined` leaves a header out). */
export const requestHead = (
  method: string,
  target: string,
  port: number,
  headers: Record<string, string | undefined> = {},
  version = "HTTP/1.1",
): string => {
  const all: Record<string, string | undefined> = {
    Host: `127.0.0.1:${port}`,
    Connection: "close",
    ...headers,
  };
  const lines = Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}`);
  return `${method} ${target} ${version}\r\n${lines.join("\r\n")}\r\n\r\n`;
};
