/**
 * Test helpers for servers built on @credbridge/http: a client that sends the
 * bytes it is given, exactly, so tests can send what no well-behaved client would.
 */
import { connect } from "node:net";

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

/**
 * Sends bytes exactly as given (no client normalizing the path or headers) and
 * reads until the server closes or the first response is complete.
 */
export const rawRequest = (port: number, request: string, timeoutMs = 5_000): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
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
    socket.write(request, "latin1");
  });

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
