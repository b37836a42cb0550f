import { once } from "node:events";
import { request } from "node:https";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { createHttpServer, type Reply } from "@credbridge/http";
import { afterEach, describe, expect, it } from "vitest";
import { makeCa } from "../support/pki.js";
import { tempDir } from "../support/tmp.js";

// The HTTPS server core (what `credbridge webhook` runs on) closes as the plain
// one does: a request being answered gets its answer, every other connection —
// idle, or still in its TLS handshake — is cut at once. node:http reads an
// HTTPS connection's requests from the TLS socket wrapped around the accepted
// TCP socket, so "is it answering?" must be asked of that one.

const ok = (body: string): Reply => ({ status: 200, route: "/", contentType: "text/plain", body });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const closed = (socket: Socket): Promise<void> =>
  socket.destroyed ? Promise.resolve() : once(socket, "close").then(() => undefined);

describe("closing the HTTPS server core", () => {
  it("answers the request in flight, and cuts idle and mid-handshake connections at once", async () => {
    const tmp = await tempDir("credbridge-https-close-");
    cleanups.push(tmp.cleanup);
    const ca = await makeCa(tmp.dir);
    const pair = await ca.issue(["127.0.0.1"]);

    let reached: () => void = () => {};
    const handlerReached = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release: (reply: Reply) => void = () => {};
    const server = createHttpServer({
      name: "webhook",
      host: "127.0.0.1",
      port: 0,
      // A cut that comes from the grace timer would come 10 s later: the test would time out.
      limits: { closeGraceMs: 10_000 },
      wellKnownHosts: [],
      allowedHosts: [],
      handler: (ctx) => {
        if (ctx.path === "/slow") {
          reached();
          return new Promise<Reply>((resolve) => {
            release = resolve;
          });
        }
        return ok("fast");
      },
      errorReply: (status, route, message) => ({ status, route, contentType: "text/plain", body: message }),
      logger: undefined,
      onRequest: undefined,
      url: (base) => base,
      beforeListen: () => {},
      afterClose: () => {},
      tls: { cert: pair.cert, key: pair.key },
    });
    const { port } = await server.listen();
    cleanups.push(() => server.close());

    // An idle keep-alive TLS connection: one request answered, then nothing.
    const idle = tlsConnect({ host: "127.0.0.1", port, ca: ca.caBundle });
    await once(idle, "secureConnect");
    idle.write(`GET /fast HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await once(idle, "data");

    // A TCP connection that never starts its TLS handshake.
    const handshaking = connect({ host: "127.0.0.1", port });
    await once(handshaking, "connect");

    // A request the handler is still answering.
    const inFlight = new Promise<{ status: number; connection: string | undefined; body: string }>(
      (resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port, path: "/slow", ca: ca.caBundle, agent: false },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => {
              body += d;
            });
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
            );
          },
        );
        req.on("error", reject);
        req.end();
      },
    );
    await handlerReached;

    const closing = server.close();
    // Both are cut before the request in flight is answered.
    await Promise.all([closed(idle), closed(handshaking)]);
    release(ok("answered during close"));
    await expect(inFlight).resolves.toEqual({
      status: 200,
      connection: "close",
      body: "answered during close",
    });
    await closing;
    expect(server.address).toBeUndefined();
  });
});
