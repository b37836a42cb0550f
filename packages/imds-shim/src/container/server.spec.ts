import { execFileSync } from "node:child_process";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isCredbridgeError } from "@credbridge/core";
import { requestHead as head, rawRequest } from "@credbridge/http/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlledProvider, KEY_A, KEY_B, manualClock, until } from "../internal/credentials.spec.helper.js";
import { serverSpec } from "../internal/servers.spec.helper.js";
import { type ContainerCredentialsServerOptions, createContainerCredentialsServer } from "./server.js";

const TOKEN = "pod-identity-token-value";
const SECRETS = [KEY_A.secretAccessKey, KEY_A.sessionToken, KEY_B.secretAccessKey, TOKEN, "rotated-token"];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-container-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const servers = serverSpec(
  SECRETS,
  ({ p, log, seen, clock }, options: Partial<ContainerCredentialsServerOptions>) =>
    createContainerCredentialsServer({
      provider: p.provider,
      authToken: TOKEN,
      prefetch: false,
      logger: log.logger,
      onRequest: (info) => seen.push(info),
      runtime: { now: clock.now, setTimer: clock.setTimer, env: {} },
      ...options,
    }),
);

const start = async (options: Partial<ContainerCredentialsServerOptions> = {}, clock = manualClock()) => {
  const started = await servers.start(options, clock);
  const get = (headers: Record<string, string> = { Authorization: TOKEN }) =>
    fetch(started.addr.url, { headers });
  return { ...started, get };
};

describe("createContainerCredentialsServer", () => {
  it("serves what the SDKs' container provider reads, at /v1/credentials", async () => {
    const { addr, get } = await start({ roleArn: "arn:aws:iam::123456789012:role/app" });
    expect(addr.url).toBe(`http://127.0.0.1:${addr.port}/v1/credentials`);
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({
      AccessKeyId: KEY_A.accessKeyId,
      SecretAccessKey: KEY_A.secretAccessKey,
      Token: KEY_A.sessionToken,
      Expiration: "2026-01-01T01:00:00Z",
      RoleArn: "arn:aws:iam::123456789012:role/app",
      AccountId: "123456789012",
    });
  });

  it("adds AccountId from the credentials and leaves RoleArn out when unknown", async () => {
    const clock = manualClock();
    const server = createContainerCredentialsServer({
      provider: async () => ({
        ...KEY_A,
        accountId: "111122223333",
        expiration: new Date(clock.now() + 7_200_000),
      }),
      authToken: TOKEN,
      path: "/creds/",
      runtime: { now: clock.now, setTimer: clock.setTimer, env: {} },
    });
    servers.track(server);
    const { url } = await server.listen();
    expect(url.endsWith("/creds")).toBe(true);
    const body = await (await fetch(url, { headers: { Authorization: TOKEN } })).json();
    expect(body).toEqual({
      AccessKeyId: KEY_A.accessKeyId,
      SecretAccessKey: KEY_A.secretAccessKey,
      Token: KEY_A.sessionToken,
      Expiration: "2026-01-01T02:00:00Z",
      AccountId: "111122223333",
    });
  });

  it("names the account and role the credentials carry (STS's answer), never AWS_ROLE_ARN", async () => {
    const clock = manualClock();
    const server = createContainerCredentialsServer({
      // What chainRoles returns after IRSA in 111111111111 and an AssumeRole into 222222222222.
      provider: async () => ({
        ...KEY_A,
        accountId: "222222222222",
        roleArn: "arn:aws:iam::222222222222:role/x",
        expiration: new Date(clock.now() + 3_600_000),
      }),
      authToken: TOKEN,
      runtime: { now: clock.now, env: { AWS_ROLE_ARN: "arn:aws:iam::111111111111:role/source" } },
    });
    servers.track(server);
    const { url } = await server.listen();
    const body = await (await fetch(url, { headers: { Authorization: TOKEN } })).json();
    expect(body).toMatchObject({ AccountId: "222222222222", RoleArn: "arn:aws:iam::222222222222:role/x" });
  });

  it.each([
    ["no Authorization", 401, "Unauthorized", {}],
    ["an empty Authorization", 401, "Unauthorized", { Authorization: "" }],
    ["a wrong token", 403, "AccessDenied", { Authorization: "guess" }],
    ["the token as a Bearer token", 403, "AccessDenied", { Authorization: `Bearer ${TOKEN}` }],
    ["a token prefix", 403, "AccessDenied", { Authorization: TOKEN.slice(0, -1) }],
  ])("answers %s with %i %s and a JSON error", async (_name, status, code, headers) => {
    const { get } = await start();
    const res = await get(headers as Record<string, string>);
    expect(res.status).toBe(status);
    const body = await res.json();
    expect(body).toEqual({ Code: code, Message: expect.any(String) });
    expect(JSON.stringify(body)).not.toContain(KEY_A.secretAccessKey);
  });

  it.each([
    ["another path", () => head("GET", "/v2/credentials", 0), 404],
    ["POST", () => head("POST", "/v1/credentials", 0, { Authorization: TOKEN }), 405],
    ["a path trick", () => head("GET", "/v1/x/../credentials", 0, { Authorization: TOKEN }), 400],
    ["an encoded slash", () => head("GET", "/v1%2Fcredentials", 0, { Authorization: TOKEN }), 400],
    [
      "a rebinding Host",
      () => head("GET", "/v1/credentials", 0, { Authorization: TOKEN, Host: "evil.example" }),
      403,
    ],
    [
      "oversized headers",
      () => head("GET", "/v1/credentials", 0, { Authorization: "x".repeat(10_000) }),
      431,
    ],
  ])("refuses %s", async (_name, request, status) => {
    const { addr } = await start();
    const raw = request().replace("Host: 127.0.0.1:0", `Host: 127.0.0.1:${addr.port}`);
    const res = await rawRequest(addr.port, raw);
    expect(res.status).toBe(status);
    if (status !== 431) expect(() => JSON.parse(res.body)).not.toThrow();
  });

  it("accepts the Pod Identity and ECS addresses as Host, for the redirect deployment", async () => {
    const { addr } = await start();
    for (const host of ["169.254.170.23", "169.254.170.2", "[fd00:ec2::23]", `localhost:${addr.port}`]) {
      const res = await rawRequest(
        addr.port,
        head("GET", "/v1/credentials", addr.port, { Authorization: TOKEN, Host: host }),
      );
      expect(res.status, host).toBe(200);
    }
  });

  it("re-reads the token file when it changes, ignoring one trailing newline", async () => {
    const file = join(dir, "token-rotation");
    await writeFile(file, `${TOKEN}\n`);
    const { get } = await start({ authToken: undefined, authTokenFile: file });
    expect((await get()).status).toBe(200);
    expect((await get({ Authorization: `${TOKEN}\n`.trim() })).status).toBe(200);

    // An atomic replace, as a Secret volume's symlink swap does.
    await writeFile(`${file}.new`, "rotated-token\n");
    await rename(`${file}.new`, file);
    expect((await get()).status).toBe(403);
    expect((await get({ Authorization: "rotated-token" })).status).toBe(200);

    // An in-place rewrite of another length.
    await writeFile(file, `${TOKEN}-2`);
    expect((await get({ Authorization: `${TOKEN}-2` })).status).toBe(200);
  });

  it.each([
    ["missing", undefined, /cannot read the authorization token file .*token-refused: it does not exist/],
    ["empty", "", /the authorization token file .*token-refused is empty/],
    ["two lines", `${TOKEN}\nsecond-line\n`, /line break inside the token/],
    ["not ASCII", "tok\u00e9n", /character outside printable ASCII/],
  ])("refuses to listen with a token file that is %s, naming the file", async (_what, text, message) => {
    const file = join(dir, "token-refused");
    await rm(file, { force: true });
    if (text !== undefined) await writeFile(file, text);
    const error = await start({ authToken: undefined, authTokenFile: file }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_TOKEN_FILE", message: expect.stringMatching(message) });
  });

  it("answers 500 once the token file goes missing or holds a line break, then recovers", async () => {
    const file = join(dir, "token-broken");
    await writeFile(file, TOKEN);
    const { get, log } = await start({ authToken: undefined, authTokenFile: file });
    expect((await get()).status).toBe(200);
    await rm(file);
    const missing = await get();
    expect(missing.status).toBe(500);
    expect(((await missing.json()) as { Code: string }).Code).toBe("InternalError");

    await writeFile(file, `${TOKEN}\nsecond-line\n`);
    expect((await get()).status).toBe(500);
    expect(log.lines.some((l) => l.includes("line break"))).toBe(true);

    await writeFile(file, "\n");
    expect((await get()).status).toBe(500);

    await writeFile(file, TOKEN);
    expect((await get()).status).toBe(200);
  });

  it("answers 500 at once, blocking nothing, when the token file is swapped for a FIFO", async () => {
    const file = join(dir, "token-fifo");
    await writeFile(file, TOKEN);
    const { get, log } = await start({ authToken: undefined, authTokenFile: file });
    expect((await get()).status).toBe(200);
    await rm(file);
    execFileSync("mkfifo", [file]);
    for (let i = 0; i < 8; i++) expect((await get()).status).toBe(500);
    expect(log.lines.some((l) => l.includes("not a regular file"))).toBe(true);
    await rm(file);
    await writeFile(file, TOKEN);
    expect((await get()).status).toBe(200);
  });

  it("answers 500 with a JSON error and no secret when the provider fails, then recovers", async () => {
    const { get, p, clock } = await start();
    p.fail(new Error("eks-auth said no"));
    const res = await get();
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).Code).toBe("InternalError");
    p.fail(undefined);
    clock.advance(2_000);
    expect((await get()).status).toBe(200);
  });

  it("answers from cache in the mandatory window while upstream hangs", async () => {
    const { get, p, clock } = await start();
    expect((await get()).status).toBe(200);
    // 15 min 30 s left: the server's mandatory window (16 min); the refresh hangs.
    clock.advance((3600 - 15.5 * 60) * 1000);
    p.hold();
    p.rotate(KEY_B);
    const res = await get();
    expect(res.status).toBe(200);
    expect(((await res.json()) as { AccessKeyId: string }).AccessKeyId).toBe(KEY_A.accessKeyId);
    expect(p.state.calls).toBe(2);
    p.release();
    await until(() => p.state.done === 2, "the background refresh");
  });

  it("1000 concurrent requests at start cause one upstream fetch", async () => {
    const { get, p } = await start();
    p.hold();
    const all = Array.from({ length: 1000 }, () => get());
    await until(() => p.state.calls === 1, "the first request to reach upstream");
    p.release();
    const statuses = await Promise.all(all.map(async (r) => (await r).status));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(p.state.calls).toBe(1);
  }, 30_000);

  it("reports requests by route name", async () => {
    const { get, seen, addr } = await start();
    await get();
    await get({});
    await fetch(`http://127.0.0.1:${addr.port}/secret/path`);
    expect(seen.map((i) => [i.server, i.path, i.status])).toEqual([
      ["container", "/v1/credentials", 200],
      ["container", "/v1/credentials", 401],
      ["container", "not-found", 404],
    ]);
  });

  it("validates its options on listen; the factory itself never throws", async () => {
    const bad: Array<Partial<ContainerCredentialsServerOptions>> = [
      { authToken: undefined },
      { authToken: TOKEN, authTokenFile: "/tmp/x" },
      { authToken: "" },
      { authToken: "two\r\nlines" },
      { path: "v1/credentials" },
      { path: "/v1/../credentials" },
      { path: "/" },
      { minRemainingSeconds: 2000 },
    ];
    for (const options of bad) {
      const server = createContainerCredentialsServer({
        provider: async () => KEY_A,
        authToken: TOKEN,
        prefetch: false,
        runtime: { env: {} },
        ...options,
      });
      const error = await server.listen().catch((e: unknown) => e);
      expect(isCredbridgeError(error) && error.code === "ERR_CONFIG", JSON.stringify(options)).toBe(true);
    }
  });
});

describe("createContainerCredentialsServer with named profiles", () => {
  it("serves each profile at its own path under the same token, and a failing one answers 500 alone", async () => {
    const clock = manualClock();
    const writer = controlledProvider(clock.now);
    writer.rotate(KEY_B);
    const { addr, get, log } = await start({ profiles: { writer: writer.provider } }, clock);
    const at = (path: string, headers: Record<string, string> = { Authorization: TOKEN }) =>
      fetch(`http://127.0.0.1:${addr.port}${path}`, { headers });
    expect(((await (await get()).json()) as { AccessKeyId: string }).AccessKeyId).toBe(KEY_A.accessKeyId);
    const res = await at("/v1/credentials/writer");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { AccessKeyId: string }).AccessKeyId).toBe(KEY_B.accessKeyId);
    // The same token rule on every path.
    expect((await at("/v1/credentials/writer", { Authorization: "wrong" })).status).toBe(403);
    expect((await at("/v1/credentials/writer", {})).status).toBe(401);
    expect((await at("/v1/credentials/nobody")).status).toBe(404);

    // The writer's chain fails once its credentials lapse: its path answers 500, the main one is untouched.
    writer.fail(new Error("writer upstream down"));
    clock.advance(3_600_000);
    writer.fail(new Error("writer upstream down"));
    const failing = await at("/v1/credentials/writer");
    expect(failing.status).toBe(500);
    expect((await get()).status).toBe(200);
    expect(log.lines.join("\n")).toMatch(/of profile writer/);
  });

  it("logs a failing profile's 500s once a minute, not once per request, counting the ones left out", async () => {
    const clock = manualClock();
    const writer = controlledProvider(clock.now);
    const { addr, log } = await start({ profiles: { writer: writer.provider } }, clock);
    const at = () =>
      fetch(`http://127.0.0.1:${addr.port}/v1/credentials/writer`, { headers: { Authorization: TOKEN } });
    writer.fail(new Error("writer upstream down"));
    for (let i = 0; i < 50; i++) expect((await at()).status).toBe(500);
    const warned = () => log.lines.filter((l) => /cannot serve credentials of profile writer/.test(l));
    expect(warned(), warned().join("\n")).toHaveLength(1);
    // A minute on, the same failure is logged again, with the count of those left out.
    clock.advance(61_000);
    expect((await at()).status).toBe(500);
    expect(warned()).toHaveLength(2);
    expect(warned()[1]).toMatch(/\(49 more in the last 61 s not logged\)/);
  });

  it("refuses to listen with a profile name that is not one path segment", async () => {
    const server = createContainerCredentialsServer({
      provider: controlledProvider(Date.now).provider,
      authToken: TOKEN,
      prefetch: false,
      profiles: { "a/b": controlledProvider(Date.now).provider },
    });
    await expect(server.listen()).rejects.toThrow(/one path segment/);
  });
});
