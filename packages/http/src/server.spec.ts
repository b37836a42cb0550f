import { afterEach, describe, expect, it } from "vitest";
import type { Reply, RequestContext } from "./internal/pipeline.js";
import { createHttpServer, type HttpServerOptions } from "./server.js";
import { holdConnection, rawRequest, requestHead } from "./testing.js";

const ok = (body: string): Reply => ({ status: 200, route: "/", contentType: "text/plain", body });

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

const start = async (options: Partial<HttpServerOptions> = {}) => {
  const server = createHttpServer({ name: "test", handler: () => ok("hello"), ...options });
  opened.push(server);
  const { port } = await server.listen();
  return { server, port };
};

/** A request whose handler waits until `release`: a connection being answered. */
const gate = () => {
  const waiting: ((reply: Reply) => void)[] = [];
  return {
    waiting,
    handler: (): Promise<Reply> => new Promise<Reply>((resolve) => waiting.push(resolve)),
    releaseAll: () => {
      for (const release of waiting.splice(0)) release(ok("released"));
    },
  };
};

describe("createHttpServer: the request pipeline", () => {
  it("answers a request with two Host lines 400, even when the first names the server (RFC 9112 §3.2)", async () => {
    const { port } = await start();
    const twice = `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`;
    const reply = await rawRequest(port, twice);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatch(/more than one Host/);
    expect((await rawRequest(port, requestHead("GET", "/", port))).status).toBe(200);
  });

  it("refuses a Host that names another server (403) and a body over maxBodyBytes (413)", async () => {
    const { port } = await start({ readBody: true, limits: { maxBodyBytes: 10 } });
    expect((await rawRequest(port, requestHead("GET", "/", port, { Host: "evil.example" }))).status).toBe(
      403,
    );
    const big = `${requestHead("POST", "/", port, { "Content-Length": "11" })}01234567890`;
    expect((await rawRequest(port, big)).status).toBe(413);
  });
});

describe("createHttpServer: a handler's bad reply", () => {
  it("answers 500 in place of a reply node:http refuses, warns, and keeps serving (a reply without contentType threw out of the request listener)", async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const bad: Record<string, Reply> = {
      "/no-type": { status: 200, route: "/", body: "x" } as unknown as Reply,
      "/status": { ...ok("x"), status: 1000 },
      "/header": { ...ok("x"), headers: { "X-Split": "a\r\nSet-Cookie: b" } },
      "/body": { ...ok("x"), body: 42 } as unknown as Reply,
    };
    const seen: number[] = [];
    const { port } = await start({
      logger,
      handler: ({ path }) => bad[path] ?? ok("fine"),
      onRequest: ({ status }) => seen.push(status),
    });
    const statuses: Record<string, number> = {};
    for (const path of Object.keys(bad)) {
      const reply = await rawRequest(port, requestHead("GET", path, port));
      statuses[path] = reply.status;
      expect(reply.raw).not.toContain("Set-Cookie");
    }
    expect(statuses).toEqual({ "/no-type": 500, "/status": 500, "/header": 500, "/body": 500 });
    expect((await rawRequest(port, requestHead("GET", "/", port))).status).toBe(200);
    expect(seen).toEqual([500, 500, 500, 500, 200]);
    expect(warnings).toHaveLength(4);
    for (const w of warnings)
      expect(w).toMatch(/credbridge test: the handler's reply could not be written: /);
  });
});

describe("createHttpServer: the request observer", () => {
  it("gets each request's route, status and the handler's outcome, and the server's own refusals without one", async () => {
    const seen: { path: string; status: number; outcome: string | undefined }[] = [];
    const { port } = await start({
      handler: () => ({ ...ok("hi"), route: "/thing", outcome: "mutated" }),
      onRequest: ({ path, status, outcome, durationMs }) => {
        expect(durationMs).toBeGreaterThanOrEqual(0);
        seen.push({ path, status, outcome });
      },
    });
    expect((await rawRequest(port, requestHead("GET", "/thing", port))).status).toBe(200);
    expect((await rawRequest(port, requestHead("GET", "/", port, { Host: "evil.example" }))).status).toBe(
      403,
    );
    expect(seen).toEqual([
      { path: "/thing", status: 200, outcome: "mutated" },
      { path: "rejected-host", status: 403, outcome: undefined },
    ]);
  });
});

describe("createHttpServer: bytes held for clients", () => {
  const post = (port: number, length: number) =>
    requestHead("POST", "/", port, { "Content-Length": String(length) });
  const reading = (bodies: number[]) => ({
    readBody: true,
    limits: { maxBodyBytes: 600, maxBufferedBytes: 1000 },
    handler: ({ method, body }: RequestContext) => {
      if (method === "POST") bodies.push(body.length);
      return ok(`read ${body.length}`);
    },
  });

  it("counts only the body bytes received: heads that declare large bodies and send none hold nothing (three such heads refused every review)", async () => {
    const bodies: number[] = [];
    const { port } = await start(reading(bodies));
    const heads = [0, 1, 2].map(() => holdConnection(port, { send: post(port, 600) }));
    await Promise.all(heads.map((h) => h.sent));
    expect((await rawRequest(port, requestHead("GET", "/", port))).status).toBe(200);
    expect((await rawRequest(port, `${post(port, 500)}${"b".repeat(500)}`)).body).toBe("read 500");
    expect(heads.every((h) => h.held.closedAfterMs === undefined)).toBe(true);
    await Promise.all(heads.map((h) => h.close()));
  });

  it("makes room for a new body by answering a body held back for a second 503 with Retry-After", async () => {
    const bodies: number[] = [];
    const { port } = await start(reading(bodies));
    // Holds back the last of its 600 bytes.
    const held = holdConnection(port, { send: `${post(port, 600)}${"a".repeat(599)}` });
    await held.sent;
    // Refused, unread, while the held body may still be arriving; read once it has stalled.
    await expect
      .poll(() => rawRequest(port, `${post(port, 500)}${"b".repeat(500)}`).then((r) => r.body), {
        timeout: 5_000,
        interval: 200,
      })
      .toBe("read 500");
    const cut = await held.closed;
    expect(cut.received).toMatch(/^HTTP\/1\.1 503 [\s\S]*Retry-After: 1/i);
    // A chunked body is counted as it arrives, and a request without a body never waits.
    const chunked = `${requestHead("POST", "/", port, { "Transfer-Encoding": "chunked" })}1f4\r\n${"c".repeat(500)}\r\n0\r\n\r\n`;
    expect((await rawRequest(port, chunked)).body).toBe("read 500");
    expect((await rawRequest(port, requestHead("GET", "/", port))).status).toBe(200);
    expect(bodies).toEqual([500, 500]);
  });

  it("refuses a body 503 at once when the room is held by a body being answered", async () => {
    const g = gate();
    const { port } = await start({
      readBody: true,
      limits: { maxBodyBytes: 600, maxBufferedBytes: 1000 },
      handler: g.handler,
    });
    const answering = holdConnection(port, { send: `${post(port, 600)}${"a".repeat(600)}` });
    await expect.poll(() => g.waiting.length).toBe(1);
    const started = performance.now();
    const refused = await rawRequest(port, `${post(port, 500)}${"b".repeat(500)}`);
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(performance.now() - started).toBeLessThan(1_000);
    g.releaseAll();
    expect((await answering.closed).received).toMatch(/released$/);
  });

  /** A server whose answers are `size` bytes; `closedOnServer(i)` resolves when the i-th request's connection is gone. */
  const answering = async (size: number, limits: HttpServerOptions["limits"]) => {
    const closes: Promise<number>[] = [];
    const answered: number[] = [];
    const { port } = await start({
      limits,
      handler: ({ req }) => {
        const opened = performance.now();
        closes.push(
          new Promise((resolve) => req.socket.once("close", () => resolve(performance.now() - opened))),
        );
        return ok("x".repeat(size));
      },
      onRequest: (info) => answered.push(info.status),
    });
    return { port, closes, answered };
  };
  const BIG = 4 * 1024 * 1024;

  it("holds an answer the client does not read against the budget: two that do not fit together are not both kept (unread answers took the webhook past 300 MiB)", async () => {
    const s = await answering(BIG, { maxBufferedBytes: 6 * 1024 * 1024 });
    const clients = [0, 1].map(() =>
      holdConnection(s.port, { send: requestHead("GET", "/", s.port), read: false }),
    );
    // One is cut at once (the other still moving), or the other once it stalled for a second.
    await expect.poll(() => s.closes.length).toBe(2);
    await Promise.race(s.closes);
    for (const c of clients) c.resume();
    const ended = await Promise.all(clients.map((c) => c.closed));
    const whole = ended.filter((c) => c.received.length > BIG);
    expect(whole).toHaveLength(1);
    expect(whole[0]!.received).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("cuts an answer the client has not taken within sendTimeoutMs", async () => {
    const s = await answering(BIG, { sendTimeoutMs: 300 });
    const client = holdConnection(s.port, { send: requestHead("GET", "/", s.port), read: false });
    await expect.poll(() => s.closes.length).toBe(1);
    const afterMs = await s.closes[0]!;
    expect(afterMs).toBeGreaterThanOrEqual(250);
    expect(afterMs).toBeLessThan(5_000);
    client.resume();
    expect((await client.closed).received.length).toBeLessThan(BIG);
  });

  it("at the connection limit, gives up a connection whose answer is written but not read, as any other", async () => {
    const s = await answering(BIG, { maxConnections: 1 });
    const unread = holdConnection(s.port, { send: requestHead("GET", "/", s.port), read: false });
    await expect.poll(() => s.answered.length).toBe(1);
    const newcomer = holdConnection(s.port, { send: requestHead("GET", "/", s.port) });
    await s.closes[0];
    await expect.poll(() => newcomer.held.received.length).toBeGreaterThan(BIG);
    unread.resume();
    expect((await unread.closed).received.length).toBeLessThan(BIG);
    await newcomer.close();
  });
});

describe("createHttpServer: connection slots", () => {
  it("at the limit, closes the oldest silent connection to admit a new client instead of refusing it", async () => {
    const { port } = await start({ limits: { maxConnections: 5 } });
    const silent = Array.from({ length: 5 }, () => holdConnection(port));
    await Promise.all(silent.map((s) => s.opened));
    // Each newcomer keeps its connection (keep-alive), so each needs a slot of its own.
    for (let i = 0; i < 3; i++) {
      const client = holdConnection(port, {
        send: requestHead("GET", "/", port, { Connection: "keep-alive" }),
      });
      await expect.poll(() => client.held.received).toMatch(/^HTTP\/1\.1 200 [\s\S]*hello$/);
    }
    // The three oldest made room, one each, without an answer; the others are still open.
    const closed = await Promise.all(silent.slice(0, 3).map((s) => s.closed));
    expect(closed.map((c) => c.received)).toEqual(["", "", ""]);
    expect(silent.slice(3).every((s) => s.held.closedAfterMs === undefined)).toBe(true);
  });

  it("gives up connections still sending their head or body, and idle keep-alive ones, before any being answered", async () => {
    const g = gate();
    const { port } = await start({ limits: { maxConnections: 4 }, handler: g.handler, readBody: true });
    const answering = holdConnection(port, { send: requestHead("GET", "/", port) });
    await answering.opened;
    await expect.poll(() => g.waiting.length).toBe(1);
    const halfHead = holdConnection(port, { send: "GET / HTTP/1.1\r\nHost: 127" });
    const halfBody = holdConnection(port, {
      send: `${requestHead("POST", "/", port, { "Content-Length": "10" })}01234`,
    });
    const idle = holdConnection(port, { send: requestHead("GET", "/", port, { Connection: "keep-alive" }) });
    await Promise.all([halfHead.opened, halfBody.opened, idle.opened]);
    await expect.poll(() => g.waiting.length).toBe(2);
    g.waiting.pop()?.(ok("idle now"));
    await expect.poll(() => idle.held.received).toMatch(/idle now/);

    const newcomers = [0, 1, 2].map(() => holdConnection(port));
    await Promise.all(newcomers.map((n) => n.opened));
    expect((await halfHead.closed).received).toBe("");
    expect((await halfBody.closed).received).toBe("");
    await idle.closed;
    // Still being answered: kept.
    expect(answering.held.closedAfterMs).toBeUndefined();
    g.releaseAll();
    expect((await answering.closed).received).toMatch(/^HTTP\/1\.1 200 [\s\S]*released$/);
  });

  it("refuses a new connection only when every connection is being answered", async () => {
    const g = gate();
    const { port } = await start({ limits: { maxConnections: 2 }, handler: g.handler });
    const busy = [0, 1].map(() => holdConnection(port, { send: requestHead("GET", "/", port) }));
    await expect.poll(() => g.waiting.length).toBe(2);
    const late = holdConnection(port);
    expect((await late.closed).received).toBe("");
    g.releaseAll();
    for (const b of busy) expect((await b.closed).received).toMatch(/released$/);
  });

  it("warns once when the limit starts closing connections, without naming a client", async () => {
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const { port } = await start({
      limits: { maxConnections: 1 },
      logger: { debug: log, info: log, warn: log, error: log },
    });
    const first = holdConnection(port);
    await first.opened;
    for (let i = 0; i < 3; i++)
      expect((await rawRequest(port, requestHead("GET", "/", port))).status).toBe(200);
    expect(lines).toEqual([
      "credbridge test: 1 connections open; closing the oldest that are not being answered to admit new ones",
    ]);
  });
});

describe("createHttpServer: limits", () => {
  it("refuses limits that are not positive integers, and a buffer smaller than one body", async () => {
    for (const limits of [{ maxConnections: 0 }, { handshakeTimeoutMs: 1.5 }, { maxBufferedBytes: -1 }]) {
      await expect(createHttpServer({ name: "x", handler: () => ok(""), limits }).listen()).rejects.toThrow(
        /must be a positive integer/,
      );
    }
    await expect(
      createHttpServer({
        name: "x",
        handler: () => ok(""),
        limits: { maxBodyBytes: 2048, maxBufferedBytes: 1024 },
      }).listen(),
    ).rejects.toThrow(/maxBufferedBytes \(1024\) must be at least maxBodyBytes \(2048\)/);
  });
});

describe("createHttpServer: listen and close", () => {
  it("refuses a second listen while the first is starting, and a close then closes what the first bound (two listens left a port bound after close)", async () => {
    let release: () => void = () => {};
    const server = createHttpServer({
      name: "twice",
      handler: () => ok("hi"),
      beforeListen: () => new Promise<void>((resolve) => (release = resolve)),
    });
    const first = server.listen();
    await expect(server.listen()).rejects.toThrow(/the twice server is already starting/);
    const closed = server.close();
    release();
    const { port } = await first;
    await closed;
    expect(server.address).toBeUndefined();
    await expect(rawRequest(port, requestHead("GET", "/", port), 1_000)).rejects.toThrow();
  });
});
