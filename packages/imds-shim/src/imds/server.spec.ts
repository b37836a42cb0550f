import { connect } from "node:net";
import { isCredbridgeError, refreshing } from "@credbridge/core";
import { requestHead as head, rawRequest } from "@credbridge/http/testing";
import { describe, expect, it } from "vitest";
import {
  controlledProvider,
  KEY_A,
  KEY_B,
  manualClock,
  turns,
  until,
} from "../internal/credentials.spec.helper.js";
import { serverSpec } from "../internal/servers.spec.helper.js";
import { createImdsServer, type ImdsServerOptions } from "./server.js";

const ROLE_ARN = "arn:aws:iam::123456789012:role/team/app-role";
const CREDS = "/latest/meta-data/iam/security-credentials/app-role";
const SECRETS = [KEY_A.secretAccessKey, KEY_A.sessionToken, KEY_B.secretAccessKey, KEY_B.sessionToken];

const servers = serverSpec(SECRETS, ({ p, log, seen, clock }, options: Partial<ImdsServerOptions>) =>
  createImdsServer({
    provider: p.provider,
    roleArn: ROLE_ARN,
    region: "eu-west-1",
    instanceId: "i-0123456789abcdef0",
    privateIp: "10.0.0.7",
    instanceType: "m5.large",
    prefetch: false,
    logger: log.logger,
    onRequest: (info) => seen.push(info),
    runtime: { now: clock.now, setTimer: clock.setTimer, env: {}, random: () => 0 },
    ...options,
  }),
);

const start = async (options: Partial<ImdsServerOptions> = {}, clock = manualClock()) => {
  const started = await servers.start(options, clock);
  const { addr } = started;
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${addr.url}${path}`, { headers });
  const token = async (ttl = 60): Promise<string> => {
    const res = await fetch(`${addr.url}/latest/api/token`, {
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) },
    });
    expect(res.status).toBe(200);
    return res.text();
  };
  return { ...started, get, token };
};

describe("createImdsServer: the metadata EC2 serves", () => {
  it("serves a token, echoing its TTL, and every route with it (IMDSv2)", async () => {
    const { addr, get, clock } = await start();
    const put = await fetch(`${addr.url}/latest/api/token`, {
      method: "PUT",
      headers: { "X-aws-ec2-metadata-token-ttl-seconds": "21600" },
    });
    expect(put.status).toBe(200);
    expect(put.headers.get("x-aws-ec2-metadata-token-ttl-seconds")).toBe("21600");
    expect(put.headers.get("content-type")).toBe("text/plain");
    const token = await put.text();
    const h = { "x-aws-ec2-metadata-token": token };

    const roles = await get("/latest/meta-data/iam/security-credentials/", h);
    expect(roles.status).toBe(200);
    expect(await roles.text()).toBe("app-role");

    const creds = await get(CREDS, h);
    expect(creds.status).toBe(200);
    expect(creds.headers.get("content-type")).toBe("text/plain");
    const text = await creds.text();
    expect(text).toBe(
      [
        "{",
        '  "Code" : "Success",',
        '  "LastUpdated" : "2026-01-01T00:00:00Z",',
        '  "Type" : "AWS-HMAC",',
        `  "AccessKeyId" : "${KEY_A.accessKeyId}",`,
        `  "SecretAccessKey" : "${KEY_A.secretAccessKey}",`,
        `  "Token" : "${KEY_A.sessionToken}",`,
        '  "Expiration" : "2026-01-01T01:00:00Z"',
        "}",
      ].join("\n"),
    );
    expect(new Date(JSON.parse(text).Expiration).getTime() - clock.now()).toBeGreaterThanOrEqual(900_000);

    const expectText = async (path: string, body: string) => {
      const res = await get(path, h);
      expect(res.status, path).toBe(200);
      expect(await res.text(), path).toBe(body);
    };
    await expectText("/latest/meta-data/", "iam/\ninstance-id\nplacement/");
    await expectText("/latest/meta-data", "iam/\ninstance-id\nplacement/");
    await expectText("/latest/meta-data/iam/", "info\nsecurity-credentials/");
    await expectText("/latest/meta-data/instance-id", "i-0123456789abcdef0");
    await expectText("/latest/meta-data/placement/", "availability-zone\nregion");
    await expectText("/latest/meta-data/placement/region", "eu-west-1");
    await expectText("/latest/meta-data/placement/availability-zone", "eu-west-1a");
    // botocore asks with the trailing slash and drops the last character for the region.
    await expectText("/latest/meta-data/placement/availability-zone/", "eu-west-1a");
    await expectText("/latest/dynamic/instance-identity/", "document");
    await expectText(`${CREDS}/`, text);

    const info = JSON.parse(await (await get("/latest/meta-data/iam/info", h)).text());
    expect(info).toEqual({
      Code: "Success",
      LastUpdated: "2026-01-01T00:00:00Z",
      InstanceProfileArn: "arn:aws:iam::123456789012:instance-profile/app-role",
      InstanceProfileId: expect.stringMatching(/^AIPA[A-Z2-7]{17}$/),
    });

    const docText = await (await get("/latest/dynamic/instance-identity/document", h)).text();
    expect(docText.startsWith('{\n  "accountId" : "123456789012",\n')).toBe(true);
    expect(JSON.parse(docText)).toMatchObject({
      accountId: "123456789012",
      region: "eu-west-1",
      availabilityZone: "eu-west-1a",
      instanceId: "i-0123456789abcdef0",
      instanceType: "m5.large",
      privateIp: "10.0.0.7",
      pendingTime: "2026-01-01T00:00:00Z",
      version: "2017-09-30",
      billingProducts: null,
    });
  });

  it("serves IMDSv1 requests without a token by default, as EC2's default does", async () => {
    const { get } = await start();
    const res = await get(CREDS);
    expect(res.status).toBe(200);
    expect(JSON.parse(await res.text()).AccessKeyId).toBe(KEY_A.accessKeyId);
  });

  it("with requireToken answers 401 to requests without a token", async () => {
    const { get, token } = await start({ requireToken: true });
    expect((await get(CREDS)).status).toBe(401);
    expect((await get("/latest/meta-data/")).status).toBe(401);
    expect((await get(CREDS, { "x-aws-ec2-metadata-token": await token() })).status).toBe(200);
  });

  it("names the role, account and partition the credentials carry (STS's answer), never AWS_ROLE_ARN; region from AWS_REGION", async () => {
    const clock = manualClock();
    const server = createImdsServer({
      // What chainRoles returns after IRSA in 111111111111 and an AssumeRole into 222222222222.
      provider: async () => ({
        ...KEY_A,
        accountId: "222222222222",
        roleArn: "arn:aws-cn:iam::222222222222:role/team/x",
        expiration: new Date(clock.now() + 3_600_000),
      }),
      runtime: {
        now: clock.now,
        env: { AWS_ROLE_ARN: "arn:aws-cn:iam::111111111111:role/source", AWS_REGION: "cn-north-1" },
      },
    });
    servers.track(server);
    const { url } = await server.listen();
    const get = (path: string) => fetch(`${url}${path}`);
    expect(await (await get("/latest/meta-data/iam/security-credentials/")).text()).toBe("x");
    expect((await get("/latest/meta-data/iam/security-credentials/x")).status).toBe(200);
    expect((await get("/latest/meta-data/iam/security-credentials/source")).status).toBe(404);
    const info = JSON.parse(await (await get("/latest/meta-data/iam/info")).text());
    expect(info.InstanceProfileArn).toBe("arn:aws-cn:iam::222222222222:instance-profile/x");
    const doc = JSON.parse(await (await get("/latest/dynamic/instance-identity/document")).text());
    expect(doc).toMatchObject({ accountId: "222222222222", region: "cn-north-1" });
    expect(await (await get("/latest/meta-data/placement/availability-zone")).text()).toBe("cn-north-1a");
    expect(await (await get("/latest/meta-data/instance-id")).text()).toMatch(/^i-[0-9a-f]{17}$/);
  });

  it("without a role ARN serves the role `credbridge` and the credentials' account id", async () => {
    const clock = manualClock();
    const server = createImdsServer({
      provider: async () => ({
        ...KEY_A,
        accountId: "111122223333",
        expiration: new Date(clock.now() + 3_600_000),
      }),
      runtime: { now: clock.now, setTimer: clock.setTimer, env: {} },
      prefetch: false,
    });
    servers.track(server);
    const { url } = await server.listen();
    expect(await (await fetch(`${url}/latest/meta-data/iam/security-credentials/`)).text()).toBe(
      "credbridge",
    );
    expect((await fetch(`${url}/latest/meta-data/iam/security-credentials/credbridge`)).status).toBe(200);
    const doc = JSON.parse(await (await fetch(`${url}/latest/dynamic/instance-identity/document`)).text());
    expect(doc).toMatchObject({ accountId: "111122223333", region: "us-east-1" });
  });
});

describe("createImdsServer: the bad-input table", () => {
  type Ctx = { port: number; token: (ttl?: number) => Promise<string>; advance: (ms: number) => void };
  const rows: Array<{ name: string; status: number; request: (c: Ctx) => string | Promise<string> }> = [
    {
      name: "token PUT without a TTL",
      status: 400,
      request: (c) => head("PUT", "/latest/api/token", c.port),
    },
    ...["0", "21601", "-1", "1.5", "abc", ""].map((ttl) => ({
      name: `token PUT with TTL ${JSON.stringify(ttl)}`,
      status: 400,
      request: (c: Ctx) =>
        head("PUT", "/latest/api/token", c.port, { "X-aws-ec2-metadata-token-ttl-seconds": ttl }),
    })),
    {
      name: "token PUT through a proxy (X-Forwarded-For)",
      status: 403,
      request: (c) =>
        head("PUT", "/latest/api/token", c.port, {
          "X-aws-ec2-metadata-token-ttl-seconds": "60",
          "X-Forwarded-For": "10.0.0.9",
        }),
    },
    { name: "token GET", status: 405, request: (c) => head("GET", "/latest/api/token", c.port) },
    {
      name: "made-up token",
      status: 401,
      request: (c) => head("GET", CREDS, c.port, { "X-aws-ec2-metadata-token": "A".repeat(74) }),
    },
    {
      name: "empty token",
      status: 401,
      request: (c) => head("GET", CREDS, c.port, { "X-aws-ec2-metadata-token": "" }),
    },
    {
      name: "truncated token",
      status: 401,
      request: async (c) =>
        head("GET", CREDS, c.port, { "X-aws-ec2-metadata-token": (await c.token()).slice(0, -2) }),
    },
    {
      name: "expired token",
      status: 401,
      request: async (c) => {
        const token = await c.token(1);
        c.advance(1_000);
        return head("GET", CREDS, c.port, { "X-aws-ec2-metadata-token": token });
      },
    },
    {
      name: "bad token on an unknown path (token check first)",
      status: 401,
      request: (c) => head("GET", "/nowhere", c.port, { "X-aws-ec2-metadata-token": "x" }),
    },
    {
      name: "another role's credentials",
      status: 404,
      request: (c) => head("GET", "/latest/meta-data/iam/security-credentials/admin", c.port),
    },
    {
      name: "the role in another case",
      status: 404,
      request: (c) => head("GET", CREDS.toUpperCase(), c.port),
    },
    { name: "unknown path", status: 404, request: (c) => head("GET", "/latest/user-data", c.port) },
    {
      name: "unknown API version",
      status: 404,
      request: (c) => head("GET", "/2009-04-04/meta-data/", c.port),
    },
    ...["POST", "DELETE", "PATCH", "OPTIONS", "HEAD"].map((method) => ({
      name: `${method} on the credentials`,
      status: 405,
      request: (c: Ctx) => head(method, CREDS, c.port),
    })),
    { name: "PUT on a metadata path", status: 405, request: (c) => head("PUT", CREDS, c.port) },
    {
      name: "oversized headers (9 KiB)",
      status: 431,
      request: (c) => head("GET", CREDS, c.port, { "X-Padding": "p".repeat(9 * 1024) }),
    },
    {
      name: "body over the limit (Content-Length)",
      status: 413,
      request: (c) =>
        head("PUT", "/latest/api/token", c.port, {
          "X-aws-ec2-metadata-token-ttl-seconds": "60",
          "Content-Length": "4096",
        }) + "x".repeat(4096),
    },
    {
      name: "body over the limit (chunked)",
      status: 413,
      request: (c) =>
        `${head("PUT", "/latest/api/token", c.port, {
          "X-aws-ec2-metadata-token-ttl-seconds": "60",
          "Transfer-Encoding": "chunked",
        })}800\r\n${"x".repeat(2048)}\r\n0\r\n\r\n`,
    },
    {
      name: "Host of another site (DNS rebinding)",
      status: 403,
      request: (c) => head("GET", CREDS, c.port, { Host: `rebind.attacker.example:${c.port}` }),
    },
    {
      name: "Host with another port",
      status: 403,
      request: (c) => head("GET", CREDS, c.port, { Host: "127.0.0.1:1" }),
    },
    {
      name: "HTTP/1.0 without Host",
      status: 403,
      request: (c) => head("GET", CREDS, c.port, { Host: undefined }, "HTTP/1.0"),
    },
    {
      name: "HTTP/1.1 without Host (Node refuses)",
      status: 400,
      request: (c) => head("GET", CREDS, c.port, { Host: undefined }),
    },
    {
      name: "path with ..",
      status: 400,
      request: (c) => head("GET", "/latest/meta-data/iam/../iam/security-credentials/app-role", c.port),
    },
    {
      name: "path with encoded ..",
      status: 400,
      request: (c) => head("GET", "/latest/meta-data/iam/security-credentials/%2e%2e/app-role", c.port),
    },
    {
      name: "path with an encoded slash",
      status: 400,
      request: (c) => head("GET", "/latest/meta-data/iam%2Fsecurity-credentials/app-role", c.port),
    },
    {
      name: "path with a backslash",
      status: 400,
      request: (c) => head("GET", "/latest\\meta-data\\", c.port),
    },
    { name: "path with //", status: 400, request: (c) => head("GET", "/latest//meta-data/", c.port) },
    { name: "path with an encoded NUL", status: 400, request: (c) => head("GET", `${CREDS}%00`, c.port) },
    {
      name: "absolute-form target",
      status: 400,
      request: (c) => head("GET", `http://169.254.169.254${CREDS}`, c.port),
    },
    { name: "asterisk-form target", status: 400, request: (c) => head("OPTIONS", "*", c.port) },
  ];

  it.each(rows)("$name → $status", async (row) => {
    const { addr, token, clock } = await start();
    const request = await row.request({ port: addr.port, token, advance: clock.advance });
    const res = await rawRequest(addr.port, request);
    expect(res.status).toBe(row.status);
    if (row.status !== 431 && row.status !== 400) expect(res.body).not.toContain(KEY_A.secretAccessKey);
  });

  it("answers a legal percent-encoding of the role name like the name itself", async () => {
    const { addr } = await start();
    const res = await rawRequest(
      addr.port,
      head("GET", "/latest/meta-data/iam/security-credentials/app%2Drole", addr.port),
    );
    expect(res.status).toBe(200);
  });

  it("accepts the Host names of the link-local deployment and of the loopback bind", async () => {
    const { addr } = await start();
    for (const host of [
      "169.254.169.254",
      "169.254.169.254:80",
      `localhost:${addr.port}`,
      `127.0.0.1:${addr.port}`,
    ]) {
      const res = await rawRequest(addr.port, head("GET", CREDS, addr.port, { Host: host }));
      expect(res.status, host).toBe(200);
    }
  });
});

describe("createImdsServer: credentials from the refresh engine", () => {
  it("1000 concurrent requests at start cause one upstream fetch", async () => {
    const { get, p } = await start();
    p.hold();
    const all = Array.from({ length: 1000 }, () => get(CREDS));
    await until(() => p.state.calls === 1, "the first request to reach upstream");
    p.release();
    const responses = await Promise.all(all);
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(new Set(bodies).size).toBe(1);
    expect(p.state.calls).toBe(1);
  }, 30_000);

  it("prefetches on listen, so the first request does not wait", async () => {
    const { get, p } = await start({ prefetch: true });
    await until(() => p.state.calls === 1, "the prefetch");
    expect((await get(CREDS)).status).toBe(200);
    expect(p.state.calls).toBe(1);
  });

  it("answers from cache in the advisory and mandatory windows while STS hangs, refreshing in the background", async () => {
    const { get, p, clock } = await start();
    expect(JSON.parse(await (await get(CREDS)).text()).AccessKeyId).toBe(KEY_A.accessKeyId);

    // 19 minutes left: inside the advisory window (20 min), before the mandatory one (16 min).
    clock.advance((3600 - 19 * 60) * 1000);
    p.hold();
    p.rotate(KEY_B);
    const advisory = await get(CREDS);
    expect(JSON.parse(await advisory.text()).AccessKeyId).toBe(KEY_A.accessKeyId);
    expect(p.state.calls).toBe(2);

    // 15 min 30 s left, upstream still hung: inside the mandatory window the
    // cached credentials still meet the 15-minute margin, so they are served at once.
    clock.advance(3.5 * 60_000);
    for (let i = 0; i < 5; i++) {
      const res = await get(CREDS);
      expect(res.status).toBe(200);
      expect(JSON.parse(await res.text()).AccessKeyId).toBe(KEY_A.accessKeyId);
    }
    expect(p.state.calls).toBe(2);
    // Hung past the engine's 60 s attempt deadline: that call was given up
    // (its late answer ignored), and the next refresh, after the backoff, gets B.
    p.release();
    await until(() => p.state.done === 2, "the hung call to return");
    clock.advance(2_000);
    expect(JSON.parse(await (await get(CREDS)).text()).AccessKeyId).toBe(KEY_A.accessKeyId);
    await until(() => p.state.done === 3, "the background refresh to finish");
    await turns();
    const fresh = JSON.parse(await (await get(CREDS)).text());
    expect(fresh.AccessKeyId).toBe(KEY_B.accessKeyId);
    expect(new Date(fresh.Expiration).getTime() - clock.now()).toBeGreaterThan(3_500_000);
  });

  it("with nothing servable cached, waits for upstream only up to maxWaitMs, then answers 500 so the client retries", async () => {
    const { get, p, clock, log } = await start({ maxWaitMs: 400 });
    p.hold();
    let status: number | undefined;
    const pending = get(CREDS).then((r) => {
      status = r.status;
      return r;
    });
    await until(() => p.state.calls === 1, "the first fetch");
    clock.advance(399);
    await turns();
    expect(status).toBeUndefined();
    clock.advance(1);
    const res = await pending;
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(log.lines.some((l) => l.includes("no servable credentials within 400 ms"))).toBe(true);
    // The refresh went on: once it lands, the next request is served from it without a second fetch.
    p.release();
    await until(() => p.state.done === 1, "the refresh to land");
    await turns();
    const next = await get(CREDS);
    expect(next.status).toBe(200);
    expect(p.state.calls).toBe(1);
  });

  it("never serves credentials with less than 15 minutes left", async () => {
    const { get, p, clock, log } = await start();
    p.setLifetime(899_000);
    const res = await get(CREDS);
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(log.lines.some((l) => l.startsWith("warn") && l.includes("answering 500"))).toBe(true);

    p.setLifetime(901_000);
    clock.advance(10 * 60_000);
    const ok = JSON.parse(await (await get(CREDS)).text());
    expect(new Date(ok.Expiration).getTime() - clock.now()).toBeGreaterThanOrEqual(900_000);
  });

  it("answers 500 without a secret when the provider fails, and retries through the engine", async () => {
    const { get, p, clock, log } = await start();
    p.fail(new Error("STS said no"));
    const res = await get(CREDS);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).toContain("500 - Internal Server Error");
    expect(log.lines.some((l) => l.includes("STS said no"))).toBe(true);

    p.fail(undefined);
    clock.advance(2_000); // past the engine's first backoff (at most 1 s)
    const ok = await get(CREDS);
    expect(ok.status).toBe(200);
    expect(p.state.calls).toBe(2);
  });

  it("logs its 500s once a minute while the provider fails, not once per request", async () => {
    const { get, p, clock, log } = await start();
    p.fail(new Error("STS said no"));
    for (let i = 0; i < 30; i++) expect((await get(CREDS)).status).toBe(500);
    const warned = () => log.lines.filter((l) => l.includes("cannot serve credentials"));
    expect(warned()).toHaveLength(1);
    clock.advance(60_000);
    expect((await get(CREDS)).status).toBe(500);
    expect(warned()).toHaveLength(2);
    expect(warned()[1]).toMatch(/\(29 more in the last 60 s not logged\)/);
  });

  it("lists a configured role name during an outage, as EC2 does, while its credentials answer 500", async () => {
    const { get, p } = await start({ roleArn: undefined, roleName: "app-role" });
    p.fail(new Error("STS is down"));
    const listing = await get("/latest/meta-data/iam/security-credentials/");
    expect(listing.status).toBe(200);
    expect(await listing.text()).toBe("app-role");
    expect((await get(CREDS)).status).toBe(500);
    expect(p.state.calls).toBe(1);
  });

  it("keeps listing the role the credentials named once none can be had", async () => {
    const clock = manualClock();
    let fail = false;
    const server = createImdsServer({
      provider: async () => {
        if (fail) throw new Error("STS is down");
        return {
          ...KEY_A,
          roleArn: "arn:aws:iam::111122223333:role/named-by-sts",
          expiration: new Date(clock.now() + 3_600_000),
        };
      },
      runtime: { now: clock.now, setTimer: clock.setTimer, env: {} },
      prefetch: false,
    });
    servers.track(server);
    const { url } = await server.listen();
    const listing = `${url}/latest/meta-data/iam/security-credentials/`;
    expect(await (await fetch(listing)).text()).toBe("named-by-sts");
    fail = true;
    clock.advance(3_600_000);
    expect((await fetch(`${listing}named-by-sts`)).status).toBe(500);
    const during = await fetch(listing);
    expect(during.status).toBe(200);
    expect(await during.text()).toBe("named-by-sts");
  });

  it("uses a shared engine as is, and refuses what falls inside its own margin", async () => {
    const clock = manualClock();
    const p = controlledProvider(clock.now);
    const log = servers.logger();
    const engine = refreshing(p.provider, {
      minRemainingSeconds: 0,
      mandatoryWindowSeconds: 60,
      advisoryWindowSeconds: 120,
      runtime: { now: clock.now },
    });
    const server = createImdsServer({
      provider: engine,
      logger: log.logger,
      runtime: { now: clock.now, setTimer: clock.setTimer, env: {} },
    });
    servers.track(server);
    expect(server.engine).toBe(engine);
    const { url } = await server.listen();
    const path = "/latest/meta-data/iam/security-credentials/credbridge";
    expect((await fetch(`${url}${path}`)).status).toBe(200);
    clock.advance(3600_000 - 850_000);
    expect((await fetch(`${url}${path}`)).status).toBe(500);
    expect(log.lines.some((l) => l.includes("shared refreshing engine"))).toBe(true);
    // A rotation through the shared engine reaches the server at once.
    p.rotate(KEY_B);
    await engine.refresh();
    expect(JSON.parse(await (await fetch(`${url}${path}`)).text()).AccessKeyId).toBe(KEY_B.accessKeyId);
  });

  it("keeps tokens issued before a flood of token requests valid (no store to evict from)", async () => {
    const { token, get } = await start();
    const first = await token(21_600);
    for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 100 }, () => token(21_600)));
    expect((await get(CREDS, { "x-aws-ec2-metadata-token": first })).status).toBe(200);
  });
});

describe("createImdsServer: lifecycle, limits and observation", () => {
  it("reports each request by route name and status, never by raw path", async () => {
    const { get, seen, token } = await start();
    await get(CREDS, { "x-aws-ec2-metadata-token": await token() });
    await get("/latest/meta-data/iam/security-credentials/admin");
    await get("/some/secret/path");
    expect(seen.map(({ path, status, method }) => [method, path, status])).toEqual([
      ["PUT", "/latest/api/token", 200],
      ["GET", "/latest/meta-data/iam/security-credentials/{role}", 200],
      ["GET", "not-found", 404],
      ["GET", "not-found", 404],
    ]);
    expect(seen.every((i) => i.server === "imds" && i.durationMs >= 0)).toBe(true);
  });

  it("finishes in-flight requests on close, then refuses connections", async () => {
    const { server, addr, get, p } = await start();
    p.hold();
    const inflight = get(CREDS);
    await until(() => p.state.calls === 1, "the request to reach upstream");
    const closed = server.close();
    await turns();
    p.release();
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(res.headers.get("connection")).toBe("close");
    await closed;
    expect(server.address).toBeUndefined();
    await expect(fetch(`${addr.url}${CREDS}`)).rejects.toThrow();
  });

  it("closes idle keep-alive connections at once on close", async () => {
    const { server, addr } = await start({ limits: { closeGraceMs: 10_000 } });
    const socket = connect({ host: "127.0.0.1", port: addr.port });
    const ended = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write(head("GET", "/latest/meta-data/instance-id", addr.port, { Connection: "keep-alive" }));
    await new Promise((resolve) => socket.once("data", resolve));
    const t0 = Date.now();
    await server.close();
    await ended;
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it("cuts off a client that sends its headers too slowly", async () => {
    const { addr } = await start({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 400 } });
    const t0 = Date.now();
    const socket = connect({ host: "127.0.0.1", port: addr.port });
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      received += d;
    });
    socket.write(`GET ${CREDS} HTTP/1.1\r\nHost: 127.0.0.1:${addr.port}\r\n`);
    await new Promise((resolve) => socket.on("close", resolve));
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  it("validates its options on listen; the factory itself never throws", async () => {
    const bad: Array<Partial<ImdsServerOptions>> = [
      { roleName: "no spaces allowed" },
      { roleArn: "arn:aws:iam::123:user/bob" },
      { region: "EU West" },
      { minRemainingSeconds: 1000, mandatoryWindowSeconds: 960 },
      { advisoryWindowSeconds: 900 },
      { instanceId: "i-1\r\nX: y" },
      { limits: { maxHeaderSize: -1 } },
    ];
    for (const options of bad) {
      const server = createImdsServer({
        provider: async () => KEY_A,
        runtime: { env: {} },
        prefetch: false,
        ...options,
      });
      const error = await server.listen().catch((e: unknown) => e);
      expect(isCredbridgeError(error) && error.code === "ERR_CONFIG", JSON.stringify(options)).toBe(true);
    }
    const noProvider = createImdsServer({ provider: undefined as never });
    await expect(noProvider.listen()).rejects.toMatchObject({ code: "ERR_CONFIG" });
  });

  it("names itself, not the engine it has not made yet, in a window error", async () => {
    for (const options of [
      { minRemainingSeconds: 1000, mandatoryWindowSeconds: 960 },
      { advisoryWindowSeconds: 900 },
      { minRemainingSeconds: -1 },
    ]) {
      const server = createImdsServer({
        provider: async () => KEY_A,
        runtime: { env: {} },
        prefetch: false,
        ...options,
      });
      await expect(server.listen(), JSON.stringify(options)).rejects.toThrow(
        /^imds: (minRemaining|mandatoryWindow)Seconds/,
      );
    }
  });

  it("cannot listen twice, and reports an address it cannot bind", async () => {
    const { server } = await start();
    await expect(server.listen()).rejects.toMatchObject({ code: "ERR_CONFIG" });
    const other = createImdsServer({ provider: async () => KEY_A, runtime: { env: {} }, prefetch: false });
    await expect(other.listen({ host: "192.0.2.123" })).rejects.toMatchObject({ code: "ERR_CONFIG" });
  });
});
