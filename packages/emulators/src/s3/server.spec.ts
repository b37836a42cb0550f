import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeServer, listen, readBody } from "../internal/http.js";
import { startStsEmulator } from "../sts/server.js";
import type { StsEmulator } from "../sts/types.js";
import { type S3Front, startS3Front } from "./server.js";
import { signS3 } from "./sign.spec.helper.js";

const ROLE = "arn:aws:iam::111122223333:role/registry";
let clock = Date.parse("2030-01-01T00:00:00Z");
const now = () => clock;

/** A stand-in for moto: records what reached it and answers 200 with a fixed body. */
let upstream: Server;
let upstreamUrl: string;
const reached: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
let sts: StsEmulator;
let front: S3Front;

beforeAll(async () => {
  upstream = createServer(async (req, res) => {
    const body = (await readBody(req, 1 << 20)).toString();
    reached.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    res.writeHead(200, { "content-type": "application/xml", etag: '"abc"' }).end("<stored/>");
  });
  upstreamUrl = await listen(upstream, "127.0.0.1", 0);
  sts = await startStsEmulator({ now });
  front = await startS3Front({ upstream: upstreamUrl, sessions: sts.session, now });
});
afterAll(async () => {
  await front.close();
  await sts.close();
  await closeServer(upstream);
});
afterEach(() => {
  reached.length = 0;
  front.reset();
});

const send = async (
  method: string,
  path: string,
  signed: { headers: Record<string, string>; body: Buffer },
): Promise<{ status: number; headers: IncomingMessage["headers"]; body: string }> => {
  const url = new URL(path, front.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: signed.headers }, async (res) => {
      resolve({
        status: res.statusCode!,
        headers: res.headers,
        body: (await readBody(res, 1 << 20)).toString(),
      });
    });
    req.once("error", reject);
    req.end(signed.body);
  });
};

const host = () => new URL(front.url).host;

describe("startS3Front", () => {
  it("forwards a request signed by a session STS issued, with its body, and logs the signer", async () => {
    const session = sts.issueFor(ROLE, "registry", 900);
    const path = "/bucket/docker/registry/v2/blobs/sha256/ab/abc/data";
    const signed = await signS3(session, { method: "PUT", host: host(), path, body: Buffer.from("layer") });
    const answer = await send("PUT", path, signed);
    expect([answer.status, answer.body, answer.headers.etag]).toEqual([200, "<stored/>", '"abc"']);
    expect(reached).toMatchObject([{ method: "PUT", url: path, body: "layer" }]);
    expect(front.requests).toMatchObject([
      {
        method: "PUT",
        path,
        accessKeyId: session.accessKeyId,
        status: 200,
        forwarded: true,
        payload: "sha256",
      },
    ]);
  });

  it("records the client's User-Agent, where an SDK names its version", async () => {
    const session = sts.issueFor(ROLE, "registry", 900);
    const path = "/bucket/docker/registry/v2/repositories/app/_layers/link";
    const signed = await signS3(session, { method: "GET", host: host(), path, body: Buffer.alloc(0) });
    const userAgent = "aws-sdk-go/1.15.11 (go1.19.8; linux; amd64)";
    await send("GET", path, { ...signed, headers: { ...signed.headers, "user-agent": userAgent } });
    await send("GET", path, signed);
    expect(front.requests.map((r) => r.userAgent)).toEqual([userAgent, undefined]);
  });

  it("forwards the path and query exactly as signed", async () => {
    const session = sts.issueFor(ROLE, "registry", 900);
    const signed = await signS3(session, {
      method: "GET",
      host: host(),
      path: "/bucket",
      query: { "list-type": "2", prefix: "docker/registry/v2/" },
    });
    const answer = await send("GET", "/bucket?list-type=2&prefix=docker%2Fregistry%2Fv2%2F", signed);
    expect(answer.status).toBe(200);
    expect(reached.map((r) => r.url)).toEqual(["/bucket?list-type=2&prefix=docker%2Fregistry%2Fv2%2F"]);
  });

  it("refuses an absolute-form request target instead of forwarding it elsewhere", async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: new URL(front.url).port, path: "http://elsewhere.invalid/bucket/key" },
        async (res) => resolve({ status: res.statusCode!, body: (await readBody(res, 1 << 20)).toString() }),
      );
      req.once("error", reject);
      req.end();
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toContain("<Code>InvalidRequest</Code>");
    expect(reached).toEqual([]);
  });

  it("answers S3's own ExpiredToken document once the session expired, and forwards nothing", async () => {
    const session = sts.issueFor(ROLE, "registry", 900);
    const signed = await signS3(session, { method: "GET", host: host(), path: "/bucket/key" });
    clock += 900_000;
    try {
      const answer = await send("GET", "/bucket/key", signed);
      const requestId = front.requests[0]!.requestId;
      expect(answer.status).toBe(400);
      expect(answer.body).toBe(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message><RequestId>${requestId}</RequestId></Error>`,
      );
      expect(answer.headers["x-amz-request-id"]).toBe(requestId);
      expect(reached).toEqual([]);
      expect(front.requests[0]).toMatchObject({
        code: "ExpiredToken",
        forwarded: false,
        accessKeyId: session.accessKeyId,
      });
      // No secret in what the front keeps.
      expect(JSON.stringify(front.requests)).not.toContain(session.sessionToken);
      expect(JSON.stringify(front.requests)).not.toContain(session.secretAccessKey);
    } finally {
      clock -= 900_000;
    }
  });

  it("answers InvalidAccessKeyId (403) naming the key for credentials STS never issued; HEAD gets the status only", async () => {
    const stranger = {
      accessKeyId: "ASIANEVERISSUED00000",
      secretAccessKey: "x".repeat(40),
      sessionToken: "token",
    };
    const get = await send(
      "GET",
      "/bucket/key",
      await signS3(stranger, { method: "GET", host: host(), path: "/bucket/key" }),
    );
    expect(get.status).toBe(403);
    expect(get.body).toContain("<Code>InvalidAccessKeyId</Code>");
    expect(get.body).toContain("<AWSAccessKeyId>ASIANEVERISSUED00000</AWSAccessKeyId>");
    const head = await send(
      "HEAD",
      "/bucket/key",
      await signS3(stranger, { method: "HEAD", host: host(), path: "/bucket/key" }),
    );
    expect([head.status, head.body]).toEqual([403, ""]);
    expect(reached).toEqual([]);
  });

  it("answers SignatureDoesNotMatch (403) for a session's key signed with another secret", async () => {
    const session = sts.issueFor(ROLE, "registry", 900);
    const forged = { ...session, secretAccessKey: "forged-secret-forged-secret-forged-secre" };
    const answer = await send(
      "GET",
      "/bucket/key",
      await signS3(forged, { method: "GET", host: host(), path: "/bucket/key" }),
    );
    expect(answer.status).toBe(403);
    expect(answer.body).toContain("<Code>SignatureDoesNotMatch</Code>");
  });

  it("answers InternalError (500) when the upstream S3 is down", async () => {
    const down = await startS3Front({ upstream: "http://127.0.0.1:1", sessions: sts.session, now });
    try {
      const session = sts.issueFor(ROLE, "registry", 900);
      const url = new URL(down.url);
      const signed = await signS3(session, { method: "GET", host: url.host, path: "/bucket/key" });
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(new URL("/bucket/key", down.url), { headers: signed.headers }, async (res) =>
          resolve({ status: res.statusCode!, body: (await readBody(res, 1 << 20)).toString() }),
        );
        req.once("error", reject);
        req.end();
      });
      expect(answer.status).toBe(500);
      expect(answer.body).toContain("<Code>InternalError</Code>");
    } finally {
      await down.close();
    }
  });
});
