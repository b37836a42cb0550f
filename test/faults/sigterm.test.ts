import { existsSync } from "node:fs";
import { mkdir, readFile, utimes } from "node:fs/promises";
import { Agent, request } from "node:http";
import { fromIni } from "@aws-sdk/credential-provider-ini";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listeningUrl, loopbackServers, startCli } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";
import { until } from "./support.js";

let fx: Awaited<ReturnType<typeof irsaFixture>>;
beforeAll(async () => {
  fx = await irsaFixture();
});
afterAll(() => fx.close());
afterEach(() => fx.sts.reset());

const readProfile = (file: string) =>
  fromIni({ profile: "default", filepath: file, configFilepath: fx.tmp.path("none"), ignoreCache: true })();

/** The file holds one complete set STS issued: no torn or mixed write. */
const expectWhole = async (file: string) => {
  const creds = await readProfile(file);
  const match = fx.sts.issued.find((i) => i.accessKeyId === creds.accessKeyId);
  expect(match).toBeDefined();
  expect(creds).toMatchObject({
    secretAccessKey: match!.secretAccessKey,
    sessionToken: match!.sessionToken,
  });
  return creds;
};

/** Sends SIGTERM and measures how long the process takes to exit. */
const terminate = async (cli: ReturnType<typeof startCli>) => {
  const started = performance.now();
  cli.child.kill("SIGTERM");
  const exit = await cli.exited;
  return { ...exit, ms: performance.now() - started };
};

/** One request on a keep-alive agent, leaving the connection idle and open; resolves with the status. */
const status = (agent: Agent, url: URL, path: string, method: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });

const hungCall = () => fx.sts.calls.some((c) => c.fault === "hang" && c.status === 0);

describe("SIGTERM while work is in flight (credbridge serve)", () => {
  it("a refresh held by a slow STS and its write: exit 0 within 5 s, the file whole", async () => {
    const file = fx.tmp.path("slow", "credentials");
    const cli = startCli(["serve", "--credentials-file", file], fx.env());
    try {
      await cli.waitFor((l) => l.msg === "credentials refreshed");
      await until(() => fx.sts.calls.length === 1 && fx.sts.calls[0]!.status === 200);
      await expect.poll(async () => (await readProfile(file)).accessKeyId, { timeout: 10_000 }).toBeTruthy();
      fx.sts.hang({ ms: 1_500 });
      cli.child.kill("SIGHUP");
      await until(hungCall, 5_000, "the refresh to reach STS");
      const exit = await terminate(cli);
      console.log(
        `SIGTERM with a 1.5 s STS call in flight: exit ${exit.code} after ${Math.round(exit.ms)} ms`,
      );
      expect(exit.code).toBe(0);
      expect(exit.ms).toBeLessThan(5_000);
    } finally {
      await cli.stop("SIGKILL");
    }
    await expectWhole(file);
    expect(cli.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  });

  it("a refresh STS never answers: exit 0 within 5 s, the file keeps the last credentials", async () => {
    const file = fx.tmp.path("hung", "credentials");
    const cli = startCli(["serve", "--credentials-file", file], fx.env());
    try {
      await cli.waitFor((l) => l.msg === "credentials refreshed");
      await expect.poll(async () => (await readProfile(file)).accessKeyId, { timeout: 10_000 }).toBeTruthy();
      const before = await readProfile(file);
      fx.sts.hang();
      cli.child.kill("SIGHUP");
      await until(hungCall, 5_000, "the refresh to reach STS");
      const exit = await terminate(cli);
      console.log(
        `SIGTERM with an STS call that never returns: exit ${exit.code} after ${Math.round(exit.ms)} ms`,
      );
      expect(exit.code).toBe(0);
      expect(exit.ms).toBeLessThan(5_000);
      expect((await expectWhole(file)).accessKeyId).toBe(before.accessKeyId);
    } finally {
      await cli.stop("SIGKILL");
    }
  });

  it("a write waiting for the file lock another writer holds: exit within 5 s, the file untouched", async () => {
    const file = fx.tmp.path("locked", "credentials");
    const cli = startCli(["serve", "--credentials-file", file], fx.env());
    let holder: NodeJS.Timeout | undefined;
    try {
      await cli.waitFor((l) => l.msg === "credentials refreshed");
      await expect.poll(async () => (await readProfile(file)).accessKeyId, { timeout: 10_000 }).toBeTruthy();
      const before = await readFile(file, "utf8");
      // A live writer elsewhere: a lock directory that keeps changing (its times touched),
      // so no waiter ever sees it unchanged for the stale period.
      await mkdir(`${file}.lock`);
      holder = setInterval(() => {
        const now = new Date();
        utimes(`${file}.lock`, now, now).catch(() => {});
      }, 500);
      cli.child.kill("SIGHUP");
      await cli.waitFor((l) => l.msg === "credentials refreshed" && l.reason === "forced");
      // The write waits for the lock: its ticket is in the lock's queue.
      await until(() => existsSync(`${file}.lock.q`), 5_000, "the write to queue for the lock");
      const exit = await terminate(cli);
      console.log(
        `SIGTERM with a write waiting for the lock: exit ${exit.code} after ${Math.round(exit.ms)} ms`,
      );
      expect(exit.code).toBe(0);
      expect(exit.ms).toBeLessThan(5_000);
      expect(await readFile(file, "utf8")).toBe(before);
    } finally {
      clearInterval(holder);
      await cli.stop("SIGKILL");
    }
    await expectWhole(file);
  });

  it("with IMDS and the container endpoint holding idle keep-alive connections: exit 0 within 1 s", async () => {
    const file = fx.tmp.path("imds", "credentials");
    const cli = startCli(
      ["serve", "--credentials-file", file, ...loopbackServers(fx.tmp.path("imds", "container-token"))],
      fx.env(),
    );
    const agent = new Agent({ keepAlive: true });
    try {
      const imds = new URL(await listeningUrl(cli, "imds"));
      const container = new URL(await listeningUrl(cli, "container"));
      await cli.waitFor((l) => l.msg === "credentials refreshed");
      const statuses = await Promise.all([
        status(agent, imds, "/latest/api/token", "PUT", { "x-aws-ec2-metadata-token-ttl-seconds": "60" }),
        status(agent, container, container.pathname, "GET", { authorization: "wrong" }),
      ]);
      expect(statuses).toEqual([200, 403]);
      const exit = await terminate(cli);
      console.log(`SIGTERM with idle keep-alive clients: exit ${exit.code} after ${Math.round(exit.ms)} ms`);
      expect(exit.code).toBe(0);
      expect(exit.ms).toBeLessThan(1_000);
    } finally {
      agent.destroy();
      await cli.stop("SIGKILL");
    }
    await expectWhole(file);
    expect(cli.lines.some((l) => l.includes("shutdown took too long"))).toBe(false);
  });
});
