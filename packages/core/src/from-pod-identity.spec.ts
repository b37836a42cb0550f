import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { isCredbridgeError } from "./errors.js";
import { fromPodIdentity } from "./from-pod-identity.js";
import { manualRuntime } from "./testing.js";

type Reply = (req: IncomingMessage, res: ServerResponse) => void;
const body = {
  AccessKeyId: "ASIAPOD1",
  SecretAccessKey: "pod-secret",
  Token: "pod-token",
  AccountId: "123456789012",
  Expiration: "2026-01-01T06:00:00Z",
};
const ok: Reply = (_req, res) =>
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));

let replies: Reply[] = [];
const seen: { authorization: string | undefined; url: string | undefined }[] = [];
const server = createServer((req, res) => {
  seen.push({ authorization: req.headers.authorization, url: req.url });
  (replies.shift() ?? ok)(req, res);
});
let base = "";
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  replies = [];
  seen.length = 0;
});

const setup = (env: Record<string, string> = {}) => {
  const fake = manualRuntime({
    env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${base}/v1/credentials`, ...env },
  });
  return { fake, runtime: { ...fake.runtime, fetch: globalThis.fetch } };
};

describe("fromPodIdentity", () => {
  it("fetches and validates credentials with the token file's contents as Authorization", async () => {
    const { fake, runtime } = setup({ AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "/eks/token" });
    fake.files.set("/eks/token", "agent-token-1\n");
    const provider = fromPodIdentity({ runtime });
    expect(await provider()).toEqual({
      accessKeyId: "ASIAPOD1",
      secretAccessKey: "pod-secret",
      sessionToken: "pod-token",
      expiration: new Date("2026-01-01T06:00:00Z"),
      accountId: "123456789012",
    });
    fake.files.set("/eks/token", "agent-token-2");
    await provider();
    expect(seen.map((s) => s.authorization)).toEqual(["agent-token-1", "agent-token-2"]);
    expect(seen[0]!.url).toBe("/v1/credentials");
  });

  it("keeps an ECS-style RoleArn beside AccountId, and drops one that is not a role ARN", async () => {
    const { runtime } = setup({ AWS_CONTAINER_AUTHORIZATION_TOKEN: "plain" });
    const withRole =
      (RoleArn: string): Reply =>
      (_req, res) =>
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ...body, RoleArn }));
    replies = [withRole("arn:aws:iam::123456789012:role/ecs-task"), withRole("not-an-arn")];
    const provider = fromPodIdentity({ runtime });
    expect(await provider()).toMatchObject({
      accountId: "123456789012",
      roleArn: "arn:aws:iam::123456789012:role/ecs-task",
    });
    expect(await provider()).not.toHaveProperty("roleArn");
  });

  it("uses AWS_CONTAINER_AUTHORIZATION_TOKEN when no file is set", async () => {
    const { runtime } = setup({ AWS_CONTAINER_AUTHORIZATION_TOKEN: "plain" });
    await fromPodIdentity({ runtime })();
    expect(seen[0]!.authorization).toBe("plain");
  });

  it("retries 5xx and network failures with backoff, then succeeds", async () => {
    const { fake, runtime } = setup();
    replies = [
      (_q, r) => r.writeHead(500).end("{}"),
      (_q, r) => r.writeHead(503).end(),
      (q) => q.socket.destroy(),
    ];
    expect((await fromPodIdentity({ runtime })()).accessKeyId).toBe("ASIAPOD1");
    expect(seen).toHaveLength(4);
    expect(fake.sleeps).toHaveLength(3);
    expect(fake.sleeps[2]!).toBeGreaterThan(fake.sleeps[0]!);
  });

  it("gives up after its retries with the endpoint and status in the message", async () => {
    const { runtime } = setup();
    replies = Array.from(
      { length: 5 },
      () => (_q: IncomingMessage, r: ServerResponse) => r.writeHead(500).end(),
    );
    await expect(fromPodIdentity({ runtime, maxRetries: 2 })()).rejects.toThrow(
      /answered HTTP 500 \(after 3 attempts\)/,
    );
    expect(seen).toHaveLength(3);
  });

  it("does not retry a 4xx and reports the agent's error body", async () => {
    const { runtime } = setup({ AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong" });
    replies = [
      (_q, r) =>
        r.writeHead(403).end(JSON.stringify({ Code: "AccessDeniedException", Message: "bad token" })),
    ];
    const error = await fromPodIdentity({ runtime })().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.statusCode).toBe(403);
    expect((error as Error).message).toMatch(
      /HTTP 403 AccessDeniedException: bad token.*AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE/,
    );
    expect((error as Error).message).not.toContain("wrong");
    expect(seen).toHaveLength(1);
  });

  it("times out a hanging agent on the runtime's clock", async () => {
    const { fake, runtime } = setup();
    replies = [() => {}, () => {}];
    const pending = fromPodIdentity({ runtime, timeoutMs: 50, maxRetries: 1 })().catch((e: unknown) => e);
    for (const attempt of [1, 2]) {
      await vi.waitFor(() => expect(seen).toHaveLength(attempt));
      await fake.advance(50);
    }
    expect(await pending).toMatchObject({
      code: "ERR_TIMEOUT",
      message: expect.stringMatching(/did not answer within 50 ms \(after 2 attempts\)/),
    });
  });

  it("times out an agent whose answer trickles in: the deadline covers the body, not only the headers", async () => {
    const { fake, runtime } = setup();
    const trickling: Reply = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("{");
    };
    replies = [trickling];
    const pending = fromPodIdentity({ runtime, timeoutMs: 50, maxRetries: 0 })().catch((e: unknown) => e);
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    await fake.advance(50);
    expect(await pending).toMatchObject({ code: "ERR_TIMEOUT" });
  });

  it("retries an answer whose credentials have already expired, and names what the agent sent, never the secrets", async () => {
    const { runtime } = setup();
    const stale: Reply = (_req, res) =>
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ ...body, Expiration: "2025-12-31T23:59:00Z" }));
    replies = [stale];
    expect((await fromPodIdentity({ runtime })()).accessKeyId).toBe("ASIAPOD1");
    expect(seen).toHaveLength(2);

    replies = [stale, stale, stale, stale];
    const error = await fromPodIdentity({ runtime, maxRetries: 3 })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_EXPIRED" });
    expect((error as Error).message).toMatch(
      /answered with credentials \(key \*\*\*\*POD1\) that expired at 2025-12-31T23:59:00.000Z, \d+ s before this host's clock.*\(after 4 attempts\)/,
    );
    expect((error as Error).message).not.toMatch(/pod-secret|pod-token|ASIAPOD1/);
    expect((error as Error).message).not.toMatch(/min-remaining/);
  });

  it.each([
    ["truncated JSON", '{"AccessKeyId":"ASIA', /not JSON/],
    ["a missing field", JSON.stringify({ ...body, Token: undefined }), /without Token/],
    ["a bad date", JSON.stringify({ ...body, Expiration: "tomorrow" }), /not an RFC 3339 date/],
    ["an array", "[]", /not an object/],
  ])("rejects %s", async (_name, text, message) => {
    const { runtime } = setup();
    replies = [(_q, r) => r.writeHead(200).end(text)];
    const error = await fromPodIdentity({ runtime })().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.code).toBe("ERR_INVALID_RESPONSE");
    expect((error as Error).message).toMatch(message);
  });

  it.each([
    "http://example.com/creds",
    "http://10.0.0.1/creds",
    "http://169.254.169.254/latest",
    "http://127.0.0.1.evil.example/creds",
  ])("refuses plain http to %s before sending anything", async (uri) => {
    const { runtime } = setup({ AWS_CONTAINER_CREDENTIALS_FULL_URI: uri });
    const error = await fromPodIdentity({ runtime })().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.code).toBe("ERR_INSECURE_URL");
    expect((error as Error).message).toMatch(/AWS_CONTAINER_CREDENTIALS_FULL_URI points to http:\/\//);
    expect(seen).toHaveLength(0);
  });

  it.each([
    "http://169.254.170.23/v1/credentials",
    "http://[fd00:ec2::23]/v1/credentials",
    "http://localhost:1/x",
    "http://127.1.2.3/x",
    "https://example.com/x",
  ])("accepts %s", async (uri) => {
    const { resolvePodIdentityConfig } = await import("./from-pod-identity.js");
    expect(resolvePodIdentityConfig({ uri }, {}).url.href).toBe(new URL(uri).href);
  });

  it("builds the ECS URL from AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", async () => {
    const { resolvePodIdentityConfig } = await import("./from-pod-identity.js");
    expect(
      resolvePodIdentityConfig({}, { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/abc" }).url
        .href,
    ).toBe("http://169.254.170.2/v2/credentials/abc");
  });

  it("is 'not configured' without a URI", async () => {
    const fake = manualRuntime();
    const error = await fromPodIdentity({ runtime: fake.runtime })().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.tryNextLink).toBe(true);
  });

  it("refuses a token with a line break and names a missing token file", async () => {
    const { fake, runtime } = setup({ AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "/eks/token" });
    await expect(fromPodIdentity({ runtime })()).rejects.toThrow(
      /\/eks\/token \(AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE\)/,
    );
    fake.files.set("/eks/token", "a\nb");
    await expect(fromPodIdentity({ runtime })()).rejects.toThrow(/line break/);
    expect(seen).toHaveLength(0);
  });
});
