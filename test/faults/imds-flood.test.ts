import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MB = 1024 * 1024;
const TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER = "x-aws-ec2-metadata-token";
const CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/flood";

/** The limits the flood's server runs with. Slow, silent and oversized clients: the hostile table, test/http/hostile.test.ts. */
const LIMITS = {
  headersTimeoutMs: 2_000,
  requestTimeoutMs: 3_000,
  idleTimeoutMs: 4_000,
  keepAliveTimeoutMs: 2_000,
};

interface ServerProcess {
  child: ChildProcess;
  imds: URL;
  container: URL;
  token: string;
  memory(): Promise<{ rss: number; heapUsed: number }>;
  close(): Promise<void>;
}

/** The servers in a child process started with --expose-gc, so its memory is theirs alone. */
const startServerProcess = async (limits: Record<string, number>): Promise<ServerProcess> => {
  const child = fork(
    fileURLToPath(new URL("./fixtures/imds-server.mjs", import.meta.url)),
    [JSON.stringify(limits)],
    {
      execArgv: ["--expose-gc"],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const [ready] = (await Promise.race([
    once(child, "message"),
    once(child, "exit").then(() => {
      throw new Error(`the server process exited: ${stderr}`);
    }),
  ])) as [{ imds: string; container: string; token: string }];
  return {
    child,
    imds: new URL(ready.imds),
    container: new URL(ready.container),
    token: ready.token,
    memory: async () => {
      child.send("rss");
      const [m] = (await once(child, "message")) as [{ rss: number; heapUsed: number; gc: boolean }];
      expect(m.gc).toBe(true);
      return m;
    },
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.send("close");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
};

/** One HTTP request on a keep-alive agent; resolves with the status and body. */
const call = (
  agent: Agent,
  url: URL,
  path: string,
  method: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end();
  });

/** Runs `count` jobs with at most `concurrency` at a time; collects the status counts. */
const flood = async (count: number, concurrency: number, job: (i: number) => Promise<{ status: number }>) => {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const { status } = await job(i);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return Object.fromEntries(statuses);
};

/** Invalid tokens of every shape: random, right-length forgeries, bit-flipped real ones, long garbage. */
const invalidToken = (i: number, real: string): string => {
  switch (i % 4) {
    case 0:
      return randomBytes(24).toString("hex");
    case 1:
      return randomBytes(55).toString("base64url"); // the length of a real token, a wrong MAC
    case 2:
      return `${real.slice(0, 10)}${real[10] === "A" ? "B" : "A"}${real.slice(11)}`;
    default:
      return "x".repeat(4_000);
  }
};

/** A valid IMDSv2 client: token, role list, credentials. */
const imdsCredentials = async (agent: Agent, url: URL) => {
  const token = await call(agent, url, "/latest/api/token", "PUT", { [TTL_HEADER]: "60" });
  expect(token.status).toBe(200);
  const headers = { [TOKEN_HEADER]: token.body };
  const role = await call(agent, url, "/latest/meta-data/iam/security-credentials/", "GET", headers);
  expect(role).toEqual({ status: 200, body: "flood" });
  const creds = await call(agent, url, CREDENTIALS_PATH, "GET", headers);
  expect(creds.status).toBe(200);
  return JSON.parse(creds.body) as { Code: string; AccessKeyId: string };
};

describe("IMDS flood (server in its own process, measured alone)", () => {
  let server: ServerProcess;
  let agent: Agent;
  beforeAll(async () => {
    server = await startServerProcess(LIMITS);
    agent = new Agent({ keepAlive: true, maxSockets: 50 });
  });
  afterAll(async () => {
    agent.destroy();
    await server.close();
  });

  it("10,000 token PUTs and 10,000 invalid-token reads: memory stays bounded and honest clients are still served", async () => {
    const put = (path = "/latest/api/token") =>
      call(agent, server.imds, path, "PUT", { [TTL_HEADER]: "21600" }).then((r) => {
        if (r.status === 200) tokens.push(r.body);
        return r;
      });
    const tokens: string[] = [];
    const real = (await put()).body;
    const badRead = (i: number) =>
      call(agent, server.imds, CREDENTIALS_PATH, "GET", { [TOKEN_HEADER]: invalidToken(i, real) });
    const badContainer = (i: number) =>
      call(agent, server.container, server.container.pathname, "GET", { authorization: `wrong-${i}` });

    // Warm-up, so the baseline includes what a server allocates once (code, buffers, sockets).
    await flood(1_000, 50, () => put());
    await flood(1_000, 50, badRead);
    await flood(500, 50, badContainer);
    const before = await server.memory();

    const started = performance.now();
    const puts = await flood(10_000, 50, () => put());
    const reads = await flood(10_000, 50, badRead);
    const container = await flood(5_000, 50, badContainer);
    const seconds = (performance.now() - started) / 1000;
    const after = await server.memory();

    expect(puts).toEqual({ 200: 10_000 });
    expect(reads).toEqual({ 401: 10_000 });
    expect(container).toEqual({ 403: 5_000 });
    const rssGrowth = (after.rss - before.rss) / MB;
    const heapGrowth = (after.heapUsed - before.heapUsed) / MB;
    console.log(
      `IMDS flood: 25,000 requests in ${seconds.toFixed(1)} s (${Math.round(25_000 / seconds)}/s); ` +
        `RSS ${(before.rss / MB).toFixed(1)} → ${(after.rss / MB).toFixed(1)} MB (${rssGrowth >= 0 ? "+" : ""}${rssGrowth.toFixed(1)} MB), ` +
        `heap ${(before.heapUsed / MB).toFixed(1)} → ${(after.heapUsed / MB).toFixed(1)} MB`,
    );
    expect(rssGrowth).toBeLessThan(30);
    expect(heapGrowth).toBeLessThan(10);

    // Tokens are not evicted by the flood: the first one issued still works, as does a new client.
    const old = await call(agent, server.imds, CREDENTIALS_PATH, "GET", { [TOKEN_HEADER]: tokens[0]! });
    expect(old.status).toBe(200);
    expect(await imdsCredentials(agent, server.imds)).toMatchObject({
      Code: "Success",
      AccessKeyId: "ASIAFLOODFIXTURE0001",
    });
    const good = await call(agent, server.container, server.container.pathname, "GET", {
      authorization: server.token,
    });
    expect(good.status).toBe(200);
  });
});
