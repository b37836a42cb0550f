import { readFile } from "node:fs/promises";
import { type PodIdentityAgent, startPodIdentityAgent } from "@credbridge/emulators";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, type RunningCli, runCli, startCli } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";

/** `serve` and `write` promise never to hand out credentials with less than --min-remaining left. */
let fx: Awaited<ReturnType<typeof irsaFixture>>;
let agent: PodIdentityAgent;
beforeAll(async () => {
  fx = await irsaFixture();
  // EKS decides a Pod Identity session's length, not a flag: ten minutes here.
  agent = await startPodIdentityAgent({ lifetimeSeconds: 600 });
});
afterAll(async () => {
  await agent.close();
  await fx.close();
});
afterEach(() => fx.sts.reset());

const podIdentityEnv = () =>
  cleanEnv(fx.tmp.dir, {
    AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.credentialsUrl,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: agent.token,
  });

/** `serve` writing `file` from the agent, with a margin its ten-minute sessions outlive. */
const servePodIdentity = (file: string) =>
  startCli(
    ["serve", "--source", "pod-identity", "--credentials-file", file, "--min-remaining", "300"],
    podIdentityEnv(),
  );

/** Resolves once `serve` has refreshed and `file` holds the last set the agent handed out. */
const writesAgentsLatest = async (cli: RunningCli, file: string) => {
  await cli.waitFor((l) => l.msg === "credentials refreshed");
  await expect
    .poll(() => readFile(file, "utf8").catch(() => ""), { timeout: 10_000 })
    .toContain(agent.issued.at(-1)!.accessKeyId);
};

describe("a session that can never outlive --min-remaining", () => {
  it.each([
    [["write", "--duration", "900"], /sessions last 900 s \(web identity --duration 900\)/],
    [["serve", "--credentials-file", "creds", "--duration", "900"], /sessions last 900 s/],
    [
      ["write", "--assume-role", "arn:aws:iam::222222222222:role/x,duration=900", "--duration", "3600"],
      /sessions last 900 s \(--assume-role arn:aws:iam::222222222222:role\/x,duration=900\)/,
    ],
    [
      ["serve", "--imds", "127.0.0.1:0", "--self-assume", "--duration", "7200", "--min-remaining", "3600"],
      /sessions last 3600 s \(--self-assume --duration 7200, capped by role chaining\)/,
    ],
    [["write", "--min-remaining", "3600"], /sessions last 3600 s \(web identity, STS's default\)/],
  ])("%j exits 2 at start, naming both flags, before any STS call", async (args, setBy) => {
    const r = await runCli(
      args,
      fx.env({ CREDBRIDGE_CREDENTIALS_FILE: fx.tmp.path("never", "credentials") }),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--min-remaining \d+ can never be met/);
    expect(r.stderr).toMatch(setBy);
    expect(r.stderr).toMatch(/--duration/);
    expect(r.stderr).toMatch(/lower --min-remaining below \d+/);
    expect(fx.sts.calls).toHaveLength(0);
  });

  it("lets a session just longer than the margin through", async () => {
    const file = fx.tmp.path("enough", "credentials");
    const r = await runCli(["write", "--credentials-file", file, "--duration", "1000"], fx.env());
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(file, "utf8")).toContain(fx.sts.issued[0]!.accessKeyId);
  });
});

describe("credentials that cannot outlive --min-remaining", () => {
  it("write: exits 1 saying so once, with the fix, and writes nothing", async () => {
    const file = fx.tmp.path("short-write", "credentials");
    const calls = agent.calls.length;
    const r = await runCli(
      ["write", "--source", "pod-identity", "--credentials-file", file],
      podIdentityEnv(),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /the credentials from source pod-identity last 59\d s, not more than --min-remaining 900/,
    );
    expect(r.stderr).toMatch(/lower --min-remaining below 59\d, or use a source whose sessions last longer/);
    expect(agent.calls.length - calls).toBe(1);
    await expect(readFile(file, "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("serve: a first answer inside the margin (an agent's stale cache) is retried with backoff, saying what to fix should every answer be so short, and the next, longer, answer is served", async () => {
    const file = fx.tmp.path("short-serve", "credentials");
    const calls = agent.calls.length;
    const cli = startCli(["serve", "--source", "pod-identity", "--credentials-file", file], podIdentityEnv());
    try {
      const line = await cli.waitFor(
        (l) => l.msg === "initial credentials unavailable; retrying in the background",
      );
      expect(String(line.error)).toMatch(
        /last 59\d s, not more than --min-remaining 900: they are neither served nor written\. A stale answer is retried with backoff/,
      );
      expect(agent.calls.length - calls).toBe(1);
      // The agent's later answers last six hours.
      agent.setLifetimeSeconds(6 * 3600);
      await writesAgentsLatest(cli, file);
      expect(cli.child.exitCode).toBeNull();
    } finally {
      agent.setLifetimeSeconds(600);
      await cli.stop();
    }
  });

  it("serve: with --min-remaining below the agent's sessions, serves them", async () => {
    const file = fx.tmp.path("short-ok", "credentials");
    const cli = servePodIdentity(file);
    try {
      await writesAgentsLatest(cli, file);
    } finally {
      await cli.stop();
    }
  });
});

describe("an expired answer from the Pod Identity agent", () => {
  it("serve: one expired answer at start is retried, not a configuration error, and the next credentials are served", async () => {
    const file = fx.tmp.path("expired-once", "credentials");
    agent.expired({ times: 1 });
    const cli = servePodIdentity(file);
    try {
      await writesAgentsLatest(cli, file);
      expect(agent.calls.filter((c) => c.fault === "expired")).toHaveLength(1);
      expect(cli.child.exitCode).toBeNull();
    } finally {
      await cli.stop();
    }
    expect(cli.lines.join("\n")).not.toMatch(/min-remaining/);
  });

  it("serve: an agent that keeps answering expired credentials is retried with backoff, saying what it sent, never the secrets", async () => {
    agent.expired({ times: Number.POSITIVE_INFINITY });
    const cli = servePodIdentity(fx.tmp.path("expired-always", "credentials"));
    try {
      const line = await cli.waitFor(
        (l) => l.msg === "initial credentials unavailable; retrying in the background",
      );
      expect(String(line.error)).toMatch(
        /answered with credentials \(key \*{4}\w{4}\) that expired at \S+Z, \d+ s before this host's clock/,
      );
      agent.clearFaults();
      await cli.waitFor((l) => l.msg === "credentials refreshed", 20_000);
      expect(cli.child.exitCode).toBeNull();
    } finally {
      agent.clearFaults();
      await cli.stop();
    }
    const log = cli.lines.join("\n");
    expect(log).not.toMatch(/min-remaining/);
    for (const sent of agent.issued) {
      expect(log).not.toContain(sent.secretAccessKey);
      expect(log).not.toContain(sent.sessionToken);
      expect(log).not.toContain(sent.accessKeyId);
    }
  });
});
