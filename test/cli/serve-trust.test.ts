import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listeningUrl, runCli, startCli } from "../support/cli.js";
import { IMDS_TOKEN_HEADER, imdsToken } from "../support/imds.js";
import { irsaFixture } from "../support/irsa.js";
import { run } from "../support/run.js";

/**
 * `serve` beside a third user who shares its volume (a 0777 emptyDir): what
 * that user can swap in for the credentials file and the container token
 * file, and what serve then does. Real processes, real uids.
 */
const THIRD = 4242;

let fx: Awaited<ReturnType<typeof irsaFixture>>;
let base: string;
let shared: string;
beforeAll(async () => {
  expect(process.geteuid?.(), "these tests run serve as root beside a second real user: they need root").toBe(
    0,
  );
  fx = await irsaFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "credbridge-serve-trust-"));
  await chmod(base, 0o755);
  shared = join(base, "shared");
  await mkdir(shared);
  await chmod(shared, 0o777);
});
afterEach(async () => {
  fx.sts.reset();
  await rm(base, { recursive: true, force: true });
});

/** Runs a shell command as the third user; fails the test if it fails. */
const asThird = async (script: string) => {
  const r = await run("sh", ["-c", script], { uid: THIRD, gid: THIRD });
  expect(r.code, `${script}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

const imdsKey = async (imds: string) => {
  const headers = { [IMDS_TOKEN_HEADER]: await imdsToken(imds) };
  const role = await (await fetch(`${imds}/latest/meta-data/iam/security-credentials/`, { headers })).text();
  const res = await fetch(`${imds}/latest/meta-data/iam/security-credentials/${role}`, { headers });
  return { status: res.status, key: ((await res.json()) as { AccessKeyId?: string }).AccessKeyId };
};

describe("serve's credentials file, in a volume a third user may write", () => {
  it("a file the third user moved over it is never written into, nor handed over: the refresh's write is refused, naming its owner", async () => {
    const file = join(shared, "credentials");
    const cli = startCli(["serve", "--credentials-file", file, "--imds", "127.0.0.1:0"], fx.env());
    try {
      const imds = await listeningUrl(cli, "imds");
      await expect
        .poll(() => readFile(file, "utf8").catch(() => ""), { timeout: 10_000 })
        .toContain(fx.sts.issued[0]?.accessKeyId);
      expect((await stat(file)).uid).toBe(0);
      await asThird(`umask 077; : > ${shared}/c && mv -f ${shared}/c ${file}`);

      const calls = fx.sts.calls.length;
      cli.child.kill("SIGHUP");
      const refused = await cli.waitFor((l) => String(l.msg ?? "").includes(`refusing to write ${file}`));
      expect(String(refused.msg)).toMatch(
        new RegExp(`belongs to uid ${THIRD} \\(mode 0600\\), neither to this writer's user \\(uid 0\\)`),
      );
      expect(fx.sts.calls.length).toBeGreaterThan(calls);
      // The newest credentials went to IMDS, never into the third user's file.
      expect((await imdsKey(imds)).key).toBe(fx.sts.issued.at(-1)?.accessKeyId);
      expect(await readFile(file, "utf8")).toBe("");
      expect((await stat(file)).uid).toBe(THIRD);
    } finally {
      await cli.stop();
    }
  });

  it("a sparse gigabyte moved over it holds nobody up: IMDS answers at once and serve's memory stays small", async () => {
    const file = join(shared, "credentials");
    const cli = startCli(
      ["serve", "--credentials-file", file, "--imds", "127.0.0.1:0", "--metrics", "127.0.0.1:0"],
      fx.env(),
    );
    try {
      const imds = await listeningUrl(cli, "imds");
      const metrics = await listeningUrl(cli, "metrics");
      await expect
        .poll(() => readFile(file, "utf8").catch(() => ""), { timeout: 10_000 })
        .toContain("aws_access_key_id");
      await asThird(`truncate -s 1500M ${shared}/c && mv -f ${shared}/c ${file}`);
      cli.child.kill("SIGHUP");
      await cli.waitFor((l) => String(l.msg ?? "").includes(`refusing to write ${file}`));
      const started = performance.now();
      expect((await imdsKey(imds)).status).toBe(200);
      expect((await fetch(`${metrics}/healthz`)).status).toBe(200);
      expect(performance.now() - started).toBeLessThan(2_000);
      const rss = (await readFile(`/proc/${cli.child.pid}/status`, "utf8")).match(/VmHWM:\s+(\d+) kB/)?.[1];
      expect(Number(rss) * 1024).toBeLessThan(300 * 1024 * 1024);
    } finally {
      await cli.stop();
    }
  });
});

describe("serve's container token file, in a volume a third user may write", () => {
  const serveContainer = (tokenFile: string, extra: string[] = []) =>
    startCli(
      [
        "serve",
        "--container-endpoint",
        "127.0.0.1:0",
        "--container-auth-token-file",
        tokenFile,
        "--metrics",
        "127.0.0.1:0",
        ...extra,
      ],
      fx.env(),
    );

  it("a token the third user moved over serve's is refused: 500 for it, /readyz 503 naming the owner, and back once serve's own is restored", async () => {
    const tokenFile = join(shared, "token");
    const cli = serveContainer(tokenFile, ["--file-owner", "1000:1000"]);
    try {
      const container = await listeningUrl(cli, "container");
      const metrics = await listeningUrl(cli, "metrics");
      const token = await readFile(tokenFile, "utf8");
      expect((await stat(tokenFile)).uid).toBe(1000);
      await expect.poll(async () => (await fetch(`${metrics}/readyz`)).status, { timeout: 10_000 }).toBe(200);
      expect((await fetch(container, { headers: { authorization: token } })).status).toBe(200);

      await asThird(`printf attacker-chosen-token > ${shared}/t && mv -f ${shared}/t ${tokenFile}`);
      const res = await fetch(container, { headers: { authorization: "attacker-chosen-token" } });
      expect(res.status).toBe(500);
      expect(JSON.stringify(await res.json())).not.toMatch(/AccessKeyId/);
      const ready = await fetch(`${metrics}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toBe(
        `the container token file ${tokenFile} is refused: it belongs to uid ${THIRD}, not to uid 0 or uid 1000\n`,
      );
      expect(cli.lines.join("\n")).toContain(
        `cannot read the authorization token file ${tokenFile}: it belongs to uid ${THIRD}`,
      );

      await writeFile(`${tokenFile}.new`, token, { mode: 0o600 });
      await run("mv", ["-f", `${tokenFile}.new`, tokenFile]);
      expect((await fetch(container, { headers: { authorization: token } })).status).toBe(200);
      expect((await fetch(`${metrics}/readyz`)).status).toBe(200);
    } finally {
      await cli.stop();
    }
  });

  it("a link to /proc/self/pagemap swapped in: /readyz answers 503 at once, requests 500, and serve lives on", async () => {
    const tokenFile = join(shared, "token");
    const cli = serveContainer(tokenFile);
    try {
      const container = await listeningUrl(cli, "container");
      const metrics = await listeningUrl(cli, "metrics");
      await asThird(`ln -s /proc/self/pagemap ${shared}/x && mv -f ${shared}/x ${tokenFile}`);
      const started = performance.now();
      const ready = await fetch(`${metrics}/readyz`, { signal: AbortSignal.timeout(5_000) });
      expect(ready.status).toBe(503);
      expect(await ready.text()).toMatch(/token is a symbolic link that another user could have planted/);
      const res = await fetch(container, {
        headers: { authorization: "x" },
        signal: AbortSignal.timeout(5_000),
      });
      expect(res.status).toBe(500);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(cli.child.exitCode).toBeNull();
    } finally {
      await cli.stop();
    }
  });

  it.each([
    ["the third user", "a link to root's file, planted by the third user", THIRD],
    ["root", "root's own link, in a directory the third user may write", 0],
  ])(
    "a token file that is a link already at start (%s): serve refuses to start, naming it, and root's file is untouched",
    async (_who, _what, uid) => {
      const victim = join(base, "victim");
      await writeFile(victim, "root-secret-token", { mode: 0o644 });
      const tokenFile = join(shared, "token");
      if (uid === 0) await symlink("/proc/self/pagemap", tokenFile);
      else await asThird(`ln -s ${victim} ${tokenFile}`);
      const started = performance.now();
      const r = await runCli(
        [
          "serve",
          "--container-endpoint",
          "127.0.0.1:0",
          "--container-auth-token-file",
          tokenFile,
          "--file-owner",
          `${THIRD}:${THIRD}`,
        ],
        fx.env(),
        20_000,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `cannot read the authorization token file ${tokenFile}: ${tokenFile} is a symbolic link that another user could have planted or could change`,
      );
      expect(performance.now() - started).toBeLessThan(15_000);
      const after = await stat(victim);
      expect([after.uid, after.mode & 0o777]).toEqual([0, 0o644]);
    },
  );
});
