import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fromIni } from "@aws-sdk/credential-provider-ini";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listeningUrl, loopbackServers, readyMetricsUrl, runCli, startCli } from "../support/cli.js";
import { IMDS_TOKEN_HEADER, imdsToken } from "../support/imds.js";
import { irsaFixture } from "../support/irsa.js";
import { run } from "../support/run.js";

let fx: Awaited<ReturnType<typeof irsaFixture>>;
beforeAll(async () => {
  fx = await irsaFixture();
});
afterAll(() => fx.close());
afterEach(() => fx.sts.reset());

/** A cross-account hop after IRSA in 111122223333. */
const ASSUMED = "arn:aws:iam::222222222222:role/x";
const text = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  expect(res.status, url).toBe(200);
  return res.text();
};
const readProfile = (file: string, profile: string) =>
  fromIni({ profile, filepath: file, configFilepath: fx.tmp.path("none"), ignoreCache: true })();

const imdsCredentials = async (base: string) => {
  const headers = { [IMDS_TOKEN_HEADER]: await imdsToken(base) };
  const role = await (await fetch(`${base}/latest/meta-data/iam/security-credentials/`, { headers })).text();
  return (
    await fetch(`${base}/latest/meta-data/iam/security-credentials/${role}`, { headers })
  ).json() as Promise<{
    AccessKeyId: string;
    Code: string;
  }>;
};

describe("credbridge serve", () => {
  it("feeds the file, IMDS and the container endpoint from one STS call, refreshes on SIGHUP, stops on SIGTERM", async () => {
    const file = fx.tmp.path("serve", "credentials");
    const tokenFile = fx.tmp.path("serve", "container-token");
    const cli = startCli(
      [
        "serve",
        "--credentials-file",
        file,
        "--profile",
        "legacy",
        ...loopbackServers(tokenFile),
        "--metrics",
        "127.0.0.1:0",
        "--remove-on-exit",
      ],
      fx.env(),
    );
    try {
      const imds = await listeningUrl(cli, "imds");
      const container = await listeningUrl(cli, "container");
      const metrics = await readyMetricsUrl(cli, 10_000);

      const issued = fx.sts.issued[0]!;
      expect(fx.sts.calls).toHaveLength(1);
      expect((await readProfile(file, "legacy")).accessKeyId).toBe(issued.accessKeyId);
      expect(await imdsCredentials(imds)).toMatchObject({ Code: "Success", AccessKeyId: issued.accessKeyId });
      const token = await readFile(tokenFile, "utf8");
      expect(token.length).toBeGreaterThan(30);
      // SDKs send the file's bytes as the header: a trailing newline would break them.
      expect(token).not.toMatch(/\s/);
      const fromContainer = await (await fetch(container, { headers: { authorization: token } })).json();
      expect(fromContainer).toMatchObject({ AccessKeyId: issued.accessKeyId, Token: issued.sessionToken });
      expect((await fetch(container, { headers: { authorization: "wrong" } })).status).toBe(403);
      expect(fx.sts.calls).toHaveLength(1);

      const text = await (await fetch(`${metrics}/metrics`)).text();
      expect(text).toMatch(/^credbridge_refreshes_total 1$/m);
      expect(text).toMatch(/^credbridge_ready 1$/m);
      expect(text).toMatch(/credbridge_requests_total\{server="container",path="[^"]+",status="403"\} 1/);
      const expiresAt = Number(
        /^credbridge_credentials_expiration_timestamp_seconds (\S+)$/m.exec(text)?.[1],
      );
      expect(expiresAt).toBe(issued.expiration.getTime() / 1000);
      expect(text).toMatch(/^credbridge_min_remaining_seconds 900$/m);
      expect((await fetch(`${metrics}/healthz`)).status).toBe(200);

      cli.child.kill("SIGHUP");
      await cli.waitFor((l) => l.msg === "credentials refreshed" && l.reason === "forced");
      const rotated = fx.sts.issued[1]!;
      await expect
        .poll(async () => (await readProfile(file, "legacy")).accessKeyId, { timeout: 10_000 })
        .toBe(rotated.accessKeyId);
      expect((await imdsCredentials(imds)).AccessKeyId).toBe(rotated.accessKeyId);
      expect(fx.sts.calls).toHaveLength(2);

      const started = Date.now();
      const exit = await cli.stop("SIGTERM");
      expect(exit.code).toBe(0);
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect(readProfile(file, "legacy")).rejects.toThrow();
    } finally {
      await cli.stop("SIGKILL");
    }
    // Every stderr line is one JSON object, and none carries a secret.
    for (const line of cli.lines) expect(() => JSON.parse(line), line).not.toThrow();
    const log = cli.lines.join("\n");
    for (const issued of fx.sts.issued) {
      expect(log).not.toContain(issued.secretAccessKey);
      expect(log).not.toContain(issued.sessionToken);
      expect(log).not.toContain(issued.accessKeyId);
    }
  });

  it("gives the directories it creates for the container token file to the --file-owner user", async () => {
    // Only root can hand files to another user, and only a real other user proves the app can read them.
    expect(process.geteuid?.(), "this test needs root: it runs serve with --file-owner 65534:65534").toBe(0);
    const nobody = { uid: 65534, gid: 65534 };
    await chmod(fx.tmp.dir, 0o711);
    const tokenFile = fx.tmp.path("owned", "shared", "container-token");
    const cli = startCli(
      [
        "serve",
        "--container-endpoint",
        "127.0.0.1:0",
        "--container-auth-token-file",
        tokenFile,
        "--file-owner",
        `${nobody.uid}:${nobody.gid}`,
      ],
      fx.env(),
    );
    try {
      const url = await listeningUrl(cli, "container");
      for (const dir of [dirname(dirname(tokenFile)), dirname(tokenFile)]) {
        expect(await stat(dir)).toMatchObject(nobody);
        expect((await stat(dir)).mode & 0o777).toBe(0o700);
      }
      // The application, running as that user, reads the token and is served with it.
      const read = await run("cat", [tokenFile], nobody);
      expect(read.stderr).toBe("");
      expect(read.code).toBe(0);
      const res = await fetch(url, { headers: { authorization: read.stdout } });
      expect(res.status).toBe(200);
    } finally {
      await cli.stop();
    }
  });

  it("after IRSA in 111122223333 and --assume-role into 222222222222, every output names the last hop, not AWS_ROLE_ARN", async () => {
    const tokenFile = fx.tmp.path("identity", "container-token");
    const cli = startCli(["serve", "--assume-role", ASSUMED, ...loopbackServers(tokenFile)], fx.env());
    try {
      const imds = await listeningUrl(cli, "imds");
      const container = await listeningUrl(cli, "container");
      const hop = fx.sts.issued.at(-1)!;
      expect(fx.sts.calls.map((c) => c.action)).toEqual(["AssumeRoleWithWebIdentity", "AssumeRole"]);

      const body = JSON.parse(await text(container, { authorization: await readFile(tokenFile, "utf8") }));
      expect(body).toMatchObject({
        AccessKeyId: hop.accessKeyId,
        AccountId: "222222222222",
        RoleArn: ASSUMED,
      });

      expect(await text(`${imds}/latest/meta-data/iam/security-credentials/`)).toBe("x");
      const served = JSON.parse(await text(`${imds}/latest/meta-data/iam/security-credentials/x`));
      expect(served.AccessKeyId).toBe(hop.accessKeyId);
      const info = JSON.parse(await text(`${imds}/latest/meta-data/iam/info`));
      expect(info.InstanceProfileArn).toBe("arn:aws:iam::222222222222:instance-profile/x");
      const doc = JSON.parse(await text(`${imds}/latest/dynamic/instance-identity/document`));
      expect(doc.accountId).toBe("222222222222");
      // The source's role is nowhere in what the application sees.
      expect((await fetch(`${imds}/latest/meta-data/iam/security-credentials/app`)).status).toBe(404);
      expect(JSON.stringify([body, info, doc])).not.toContain("111122223333");
    } finally {
      await cli.stop();
    }
  });

  it("turns Node's warnings into JSON log lines", async () => {
    const cli = startCli(
      ["serve", "--credentials-file", fx.tmp.path("w", "credentials")],
      fx.env({ NODE_OPTIONS: "" }),
    );
    try {
      await cli.waitFor((l) => l.msg === "credentials refreshed");
    } finally {
      await cli.stop();
    }
    expect(cli.lines.length).toBeGreaterThan(0);
    for (const line of cli.lines) expect(() => JSON.parse(line), line).not.toThrow();
    if (Number(process.versions.node.split(".")[0]) < 22) {
      expect(cli.lines.some((l) => l.includes("NodeVersionSupportWarning"))).toBe(true);
    }
  });

  it("exits non-zero at start, naming the path and variable, when the token file is missing", async () => {
    const missing = fx.tmp.path("missing-token");
    const cli = startCli(
      ["serve", "--credentials-file", fx.tmp.path("m", "credentials")],
      fx.env({ AWS_WEB_IDENTITY_TOKEN_FILE: missing }),
    );
    const exit = await cli.exited;
    expect(exit.code).toBe(1);
    expect(cli.lines.join("\n")).toContain(`${missing} (AWS_WEB_IDENTITY_TOKEN_FILE)`);
  });

  it("exits 1 at start, saying what to check and not to wait, when the web-identity token file is empty", async () => {
    const empty = fx.tmp.path("empty-web-identity-token");
    await writeFile(empty, "");
    const r = await runCli(
      ["serve", "--credentials-file", fx.tmp.path("e", "credentials")],
      fx.env({ AWS_WEB_IDENTITY_TOKEN_FILE: empty }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${empty} (AWS_WEB_IDENTITY_TOKEN_FILE) is empty`);
    expect(r.stderr).toMatch(/written before the pod's containers start.*check that the volume is mounted/);
    expect(r.stderr).not.toMatch(/may not have written it yet/);
    expect(fx.sts.calls).toHaveLength(0);
  });

  it.each([
    ["empty", ""],
    ["not ASCII (Go would send other bytes than Node and Python)", "tok\u00e9n"],
    ["two lines", "one\ntwo\n"],
  ])(
    "exits 1 at start, naming the file, when the existing container token file is %s",
    async (_what, text) => {
      const tokenFile = fx.tmp.path("refused-token", `${text.length}-${text.charCodeAt(0) || 0}`);
      await mkdir(dirname(tokenFile), { recursive: true });
      await writeFile(tokenFile, text);
      const r = await runCli(
        ["serve", "--container-endpoint", "127.0.0.1:0", "--container-auth-token-file", tokenFile],
        fx.env(),
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the authorization token file ${tokenFile}`);
      expect(r.stderr).not.toContain(text.trim() || "\u0000");
    },
  );

  it("reports not ready while the container token file cannot be matched, as every request then gets 500", async () => {
    const tokenFile = fx.tmp.path("ready-token", "token");
    const cli = startCli(
      [
        "serve",
        "--container-endpoint",
        "127.0.0.1:0",
        "--container-auth-token-file",
        tokenFile,
        "--metrics",
        "127.0.0.1:0",
      ],
      fx.env(),
    );
    try {
      const container = await listeningUrl(cli, "container");
      const metrics = await readyMetricsUrl(cli, 10_000);
      const token = await readFile(tokenFile, "utf8");
      expect((await fetch(container, { headers: { authorization: token } })).status).toBe(200);

      await writeFile(tokenFile, "");
      expect((await fetch(container, { headers: { authorization: token } })).status).toBe(500);
      const ready = await fetch(`${metrics}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toBe(`the container token file ${tokenFile} is empty\n`);

      await writeFile(tokenFile, token);
      expect((await fetch(`${metrics}/readyz`)).status).toBe(200);
      expect((await fetch(container, { headers: { authorization: token } })).status).toBe(200);
      // Liveness is the engine's business: a broken token file is not a reason to restart.
      expect((await fetch(`${metrics}/healthz`)).status).toBe(200);
    } finally {
      await cli.stop();
    }
  });

  it("keeps running and becomes ready once STS recovers", async () => {
    fx.sts.failAlways({ code: "ServiceUnavailable" });
    const cli = startCli(
      ["serve", "--credentials-file", fx.tmp.path("r", "credentials"), "--metrics", "127.0.0.1:0"],
      fx.env(),
    );
    try {
      const metrics = await listeningUrl(cli, "metrics");
      expect((await fetch(`${metrics}/readyz`)).status).toBe(503);
      fx.sts.clearFaults();
      await expect
        .poll(async () => (await fetch(`${metrics}/readyz`)).status, { timeout: 20_000, interval: 250 })
        .toBe(200);
    } finally {
      await cli.stop();
    }
  });

  it("leaves a whole file when SIGTERM arrives while writes are in flight", async () => {
    const file = fx.tmp.path("term", "credentials");
    const cli = startCli(["serve", "--credentials-file", file], fx.env());
    try {
      await cli.waitFor((l) => l.msg === "credentials refreshed");
      await expect
        .poll(async () => (await readProfile(file, "default")).accessKeyId, { timeout: 10_000 })
        .toBeTruthy();
      for (let i = 0; i < 5; i++) cli.child.kill("SIGHUP");
      // A forced refresh is in: the writer, told of it right after this log line, is writing it.
      await cli.waitFor((l) => l.msg === "credentials refreshed" && l.reason === "forced");
      const exit = await cli.stop("SIGTERM");
      expect(exit.code).toBe(0);
    } finally {
      await cli.stop("SIGKILL");
    }
    const creds = await readProfile(file, "default");
    const match = fx.sts.issued.find((i) => i.accessKeyId === creds.accessKeyId);
    expect(match).toBeDefined();
    expect(creds).toMatchObject({
      secretAccessKey: match!.secretAccessKey,
      sessionToken: match!.sessionToken,
    });
  });
});
