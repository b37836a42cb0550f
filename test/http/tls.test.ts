/**
 * The HTTPS side of @credbridge/http, with certificates made by openssl: the
 * TLS handshake has a deadline of its own (node:https waits 120 s by default,
 * and the head and request timeouts start only after it), silent TLS clients
 * cannot keep the connection slots, and a key that is not the certificate's
 * is refused at listen and on rotation instead of failing every handshake.
 */
import { generateKeyPairSync } from "node:crypto";
import { request } from "node:https";
import { createServer as createTcpServer, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { createHttpServer, type HttpServerOptions, type Reply } from "@credbridge/http";
import { holdConnection, rawRequest, requestHead } from "@credbridge/http/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeCa } from "../support/pki.js";
import { tempDir } from "../support/tmp.js";

const ok: Reply = { status: 200, route: "/", contentType: "text/plain", body: "hello" };

let tmp: Awaited<ReturnType<typeof tempDir>>;
let ca: Awaited<ReturnType<typeof makeCa>>;
let pair: { cert: string; key: string };
const RSA_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
  type: "pkcs8",
  format: "pem",
}) as string;

beforeAll(async () => {
  tmp = await tempDir("credbridge-http-tls-");
  ca = await makeCa(tmp.dir);
  pair = await ca.issue(["127.0.0.1"]);
});
afterAll(() => tmp?.cleanup());

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

const start = async (options: Partial<HttpServerOptions> = {}) => {
  const server = createHttpServer({ name: "tls-test", handler: () => ok, tls: pair, ...options });
  opened.push(server);
  const { port } = await server.listen();
  return { server, port, endpoint: { port, tls: { ca: ca.caBundle } } };
};

/** The first bytes a TLS client sends: its ClientHello, as node:tls writes it. */
const clientHello = async (): Promise<Buffer> => {
  const grab = createTcpServer();
  const first = new Promise<Buffer>((resolve) =>
    grab.once("connection", (socket: Socket) =>
      socket.once("data", (data: Buffer) => {
        resolve(data);
        socket.destroy();
      }),
    ),
  );
  await new Promise<void>((resolve) => grab.listen(0, "127.0.0.1", resolve));
  const client = tlsConnect({
    host: "127.0.0.1",
    port: (grab.address() as { port: number }).port,
    ca: ca.caBundle,
  });
  client.on("error", () => {});
  const hello = await first;
  client.destroy();
  grab.close();
  return hello;
};

/** The certificate a fresh connection is served. */
const servedFingerprint = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", ca: ca.caBundle, agent: false }, (res) => {
      resolve((res.socket as TLSSocket).getPeerCertificate().fingerprint256);
      res.resume();
    });
    req.on("error", reject);
    req.end();
  });

describe("HTTPS: the handshake", () => {
  it("closes a connection that never sends its ClientHello at handshakeTimeoutMs, and one that sends it a byte at a time", async () => {
    const { port } = await start({ limits: { handshakeTimeoutMs: 500 } });
    const silent = holdConnection(port);
    // A real ClientHello but its last byte, one byte every 20 ms: each byte is traffic, none completes it.
    const hello = (await clientHello()).subarray(0, -1).toString("latin1");
    const dripping = holdConnection(port, { drip: hello, dripMs: 20 });
    const [s, d] = await Promise.all([silent.closed, dripping.closed]);
    for (const held of [s, d]) {
      expect(held.closedAfterMs).toBeGreaterThanOrEqual(450);
      // Not node:https's 120 s: the deadline, and slack for a loaded machine.
      expect(held.closedAfterMs).toBeLessThan(3_000);
    }
    expect(d.dripped).toBeGreaterThan(10);
    expect(d.dripped).toBeLessThan(hello.length);
  });

  it("admits a real client when silent TCP connections hold every slot, closing the oldest", async () => {
    const { port, endpoint } = await start({ limits: { maxConnections: 20 } });
    const silent = Array.from({ length: 20 }, () => holdConnection(port));
    await Promise.all(silent.map((s) => s.opened));
    const started = performance.now();
    const reply = await rawRequest(endpoint, requestHead("GET", "/", port));
    expect(reply.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await silent[0]!.closed).received).toBe("");
    for (const s of silent) await s.close();
  });
});

describe("HTTPS: the key and the certificate", () => {
  it("refuses to listen with a key that is not the certificate's (an RSA key beside an EC certificate), saying so", async () => {
    const server = createHttpServer({
      name: "tls-test",
      handler: () => ok,
      tls: { cert: pair.cert, key: RSA_KEY },
    });
    const listening = server.listen();
    await expect(listening).rejects.toMatchObject({ code: "ERR_CONFIG" });
    await expect(listening).rejects.toThrow(
      /the tls-test server cannot serve TLS with this key and certificate: the private key is not the certificate's \(certificate: ec key, private key: rsa\)/,
    );
    expect(server.address).toBeUndefined();
  });

  it("keeps serving the pair in use when a rotation brings a key that is not the certificate's", async () => {
    const { server, port } = await start();
    const before = await servedFingerprint(port);
    const next = await ca.issue(["127.0.0.1"]);
    const other = await ca.issue(["127.0.0.1"]);
    for (const key of [RSA_KEY, other.key]) {
      expect(() => server.setSecureContext({ cert: next.cert, key })).toThrow(
        /the tls-test server cannot serve TLS with this key and certificate: .*(not the certificate's|key values mismatch)/,
      );
      expect(await servedFingerprint(port)).toBe(before);
    }
    server.setSecureContext(next);
    expect(await servedFingerprint(port)).not.toBe(before);
  });
});
