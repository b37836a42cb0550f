import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MB = 1024 * 1024;
const TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER = "x-aws-ec2-metadata-token";
const CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/flood";

/** Small limits, so timeouts show within seconds; the request head limit stays at its default. */
const LIMITS = {
  headersTimeoutMs: 2_000,
  requestTimeoutMs: 3_000,
  idleTimeoutMs: 4_000,
  keepAliveTimeoutMs: 2_000,
};
/** The headers timeout, one of Node's checks (every second), and slack for a loaded machine. */
const CUT_WITHIN = LIMITS.headersTimeoutMs + 1_000 + 3_000;

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

/** A raw socket: sends `head`, then `drip` one byte at a time every `dripMs`; reports when the server closed it. */
const rawClient = (url: URL, head: string, drip = "", dripMs = 100) =>
  new Promise<{ closedAfterMs: number; received: string; dripped: number }>((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let received = "";
    let dripped = 0;
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      if (head) socket.write(head);
      timer = setInterval(() => {
        if (dripped < drip.length && !socket.destroyed) socket.write(drip[dripped++]!);
      }, dripMs);
    });
    socket.on("data", (d) => {
      received += d;
    });
    socket.on("error", () => {
      // A reset is a close too; the timing is what counts.
    });
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ closedAfterMs: performance.now() - started, received, dripped });
    });
    // Bounded: a socket the server never closes fails the test instead of hanging it.
    setTimeout(() => {
      if (!socket.destroyed) {
        socket.destroy();
        reject(
          new Error(`the server kept a stalled socket open for 15 s; received ${JSON.stringify(received)}`),
        );
      }
    }, 15_000).unref();
  });

const HALF_HEAD = "GET /latest/meta-data/ HTTP/1.1\r\nHost: 127.0.0.1\r\n";

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

/** Concurrent: most of the time is spent waiting for timeouts. */
describe.concurrent("slow, silent and oversized clients", () => {
  let slow: ServerProcess;
  let agent: Agent;
  beforeAll(async () => {
    slow = await startServerProcess(LIMITS);
    agent = new Agent({ keepAlive: true, maxSockets: 10 });
  });
  afterAll(async () => {
    agent.destroy();
    await slow.close();
  });

  it("a client that sends half a request head and stalls is cut off at the headers timeout", async () => {
    const r = await rawClient(slow.imds, HALF_HEAD);
    console.log(
      `half a head: closed after ${Math.round(r.closedAfterMs)} ms, answer ${JSON.stringify(r.received.split("\r\n")[0])}`,
    );
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(LIMITS.headersTimeoutMs - 100);
    expect(r.closedAfterMs).toBeLessThan(CUT_WITHIN); // timeout, one check interval, slack
    expect(r.received).not.toMatch(/AccessKeyId/);
  });

  it("a client dripping one header byte every 100 ms is cut off too: activity does not extend the headers timeout", async () => {
    const r = await rawClient(slow.imds, HALF_HEAD, "X-Slow: a".repeat(20), 100);
    expect(r.closedAfterMs).toBeLessThan(CUT_WITHIN);
    expect(r.dripped).toBeLessThan(180); // cut long before the 18 s the drip would have taken
  });

  it("a connection that never sends a byte is closed", async () => {
    const r = await rawClient(slow.imds, "");
    expect(r.closedAfterMs).toBeLessThan(CUT_WITHIN);
  });

  it("200 stalled clients at once: an honest client is answered promptly meanwhile, and every stalled one is cut", async () => {
    const stalled = Array.from({ length: 200 }, () => rawClient(slow.imds, HALF_HEAD));
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    const fresh = new Agent({ keepAlive: false });
    try {
      expect((await imdsCredentials(fresh, slow.imds)).Code).toBe("Success");
    } finally {
      fresh.destroy();
    }
    // Served before the headers timeout could have freed anything: the stalled clients block no one.
    expect(performance.now() - started).toBeLessThan(LIMITS.headersTimeoutMs);
    const closed = await Promise.all(stalled);
    const slowest = Math.max(...closed.map((c) => c.closedAfterMs));
    console.log(`200 stalled clients: all cut within ${Math.round(slowest)} ms`);
    expect(slowest).toBeLessThan(CUT_WITHIN);
  });

  it("an oversized request head is refused with 431 and the connection closed; one under the limit is served", async () => {
    const big = await rawClient(
      slow.imds,
      `PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n${TTL_HEADER}: 60\r\nX-Pad: ${"a".repeat(10_000)}\r\n\r\n`,
    );
    expect(big.received).toMatch(/^HTTP\/1\.1 431 /);
    expect(big.received).not.toMatch(/\r\n\r\n[A-Za-z0-9_-]{60,}/); // no token in a body

    const many = await rawClient(
      slow.imds,
      `GET /latest/meta-data/ HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 400 }, (_, i) => `X-H${i}: ${"b".repeat(20)}\r\n`).join("")}\r\n`,
    );
    expect(many.received).toMatch(/^HTTP\/1\.1 431 /);

    const under = await call(agent, slow.imds, "/latest/api/token", "PUT", {
      [TTL_HEADER]: "60",
      "x-pad": "a".repeat(6_000),
    });
    expect(under.status).toBe(200);
  });

  it("the excess is refused at once, and service is back once the headers timeout cuts the stalled ones", async () => {
    const server = await startServerProcess({ ...LIMITS, maxConnections: 50 });
    const agent = new Agent({ keepAlive: false });
    try {
      const stalled = Array.from({ length: 80 }, () => rawClient(server.imds, HALF_HEAD));
      const closed = await Promise.all(stalled);
      // Admitted ones hold a slot until the headers timeout answers 408; the rest are closed unanswered
      // (some only after a SYN retry, a second later, when the accept backlog was full).
      const held = closed.filter((c) => c.received.startsWith("HTTP/1.1 408"));
      const refused = closed.filter((c) => c.received === "");
      expect(held.length + refused.length).toBe(80);
      expect(held.length).toBeLessThanOrEqual(50);
      expect(refused.length).toBeGreaterThanOrEqual(30);
      expect(Math.max(...held.map((c) => c.closedAfterMs))).toBeLessThan(CUT_WITHIN);
      expect((await imdsCredentials(agent, server.imds)).Code).toBe("Success");
    } finally {
      agent.destroy();
      await server.close();
    }
  });
});
