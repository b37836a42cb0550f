import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";
import { run } from "../support/run.js";

const PLANTED = {
  Version: 1,
  AccessKeyId: "ASIAPLANTEDBYANOTHER",
  SecretAccessKey: "planted/secret",
  SessionToken: "planted-token",
  Expiration: "2099-01-01T00:00:00Z",
};

let fx: Awaited<ReturnType<typeof irsaFixture>>;
beforeAll(async () => {
  fx = await irsaFixture();
});
afterAll(() => fx.close());

/** Runs `credbridge process` with this cache directory; returns the printed key and stderr. */
const processWith = async (cache: string) => {
  const r = await runCli(["process", "--cache-dir", cache], fx.env());
  expect(r.code, r.stderr).toBe(0);
  return { key: JSON.parse(r.stdout).AccessKeyId as string, stderr: r.stderr };
};

/** The one cache entry: what another user with write access to it could replace. */
const entryOf = async (cache: string) => {
  const names = (await readdir(cache)).filter((n) => n.endsWith(".json"));
  expect(names).toHaveLength(1);
  return `${cache}/${names[0]}`;
};

/** Rewrites the entry as another user could: same identity, their credentials. */
const plant = async (file: string, mode: number) => {
  const entry = JSON.parse(await readFile(file, "utf8"));
  await writeFile(file, JSON.stringify({ ...entry, credentials: PLANTED }));
  await chmod(file, mode);
};

describe("credbridge process: what the cache trusts", () => {
  it("never prints a cache file that group or others can write as credentials", async () => {
    const cache = fx.tmp.path("cache-planted");
    const first = await processWith(cache);
    await plant(await entryOf(cache), 0o666);

    const second = await processWith(cache);
    expect(second.key).not.toBe(PLANTED.AccessKeyId);
    expect(second.key).toBe(fx.sts.issued.at(-1)?.accessKeyId);
    expect(second.key).not.toBe(first.key);
    expect(second.stderr).toMatch(
      /ignoring the cached credentials: .* writable by group or others \(mode 0666\)/,
    );
    // Replaced by the fresh answer, 0600.
    expect((await stat(await entryOf(cache))).mode & 0o777).toBe(0o600);
  });

  it("never reads from a cache directory others can write, and makes it 0700 on the next fetch", async () => {
    const cache = fx.tmp.path("cache-open");
    await processWith(cache);
    await chmod(cache, 0o777);
    await plant(await entryOf(cache), 0o600);

    const next = await processWith(cache);
    expect(next.key).not.toBe(PLANTED.AccessKeyId);
    expect(next.stderr).toMatch(
      /not reading the cache: the cache directory .* writable by group or others \(mode 0777\)/,
    );
    expect(next.stderr).toMatch(/set it to 0700/);
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
  });

  it("creates a missing cache directory 0700", async () => {
    const cache = fx.tmp.path("fresh", "nested", "cache");
    await processWith(cache);
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
  });

  it("never chmods, nor writes into, a directory reached through a link another user planted as the cache directory", async () => {
    expect(process.geteuid?.(), "this test plants the link as a second user, which takes root").toBe(0);
    // Root's own directory, group-writable and setgid for a team: what the link points at.
    const base = await mkdtemp(join(tmpdir(), "credbridge-cache-link-"));
    await chmod(base, 0o755);
    const victim = join(base, "victim");
    await mkdir(victim);
    await chown(victim, 0, 50);
    await chmod(victim, 0o2775);
    // A volume everyone may write, where uid 65534 makes `cache` a link to it.
    const shared = join(base, "shared");
    await mkdir(shared);
    await chmod(shared, 0o777);
    const planted = await run("ln", ["-s", victim, `${shared}/cache`], { uid: 65534, gid: 65534 });
    expect(planted.code, planted.stderr).toBe(0);

    const r = await runCli(["process", "--cache-dir", `${shared}/cache`], fx.env());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).AccessKeyId).toBe(fx.sts.issued.at(-1)?.accessKeyId);
    expect(r.stderr).toContain(
      `${shared}/cache is a symbolic link (to ${victim}) that another user could have planted`,
    );
    const after = await stat(victim);
    expect([after.uid, after.gid, after.mode & 0o7777]).toEqual([0, 50, 0o2775]);
    expect(await readdir(victim)).toEqual([]);
    await rm(base, { recursive: true });
  });
});
