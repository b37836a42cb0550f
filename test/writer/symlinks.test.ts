import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";
import { run } from "../support/run.js";
import { fixture, lastJsonLine } from "./helpers.js";

/** The application's user (nobody): what `--file-owner` hands the file to. */
const APP = 65534;
const ROOT_CREDENTIALS = [
  "[default]",
  "aws_access_key_id = AKIAROOTDEFAULT00001",
  "aws_secret_access_key = root/default+secret",
  "",
  "[prod]",
  "aws_access_key_id = AKIAROOTPRODUCTION01",
  "aws_secret_access_key = root/prod+long-term+secret",
  "",
].join("\n");

let fx: Awaited<ReturnType<typeof irsaFixture>>;
let base: string;
beforeAll(async () => {
  if (process.geteuid?.() !== 0) {
    throw new Error(
      "these tests run credbridge as root beside a second user and need root (CI runs as root)",
    );
  }
  fx = await irsaFixture();
  base = await mkdtemp(join(tmpdir(), "credbridge-links-"));
  await chmod(base, 0o755);
});
afterAll(async () => {
  await fx?.close();
  await rm(base, { recursive: true, force: true });
});

/** Root's own ~/.aws, with long-term keys in it: what must never reach the application's user. */
const rootHome = async (name: string) => {
  await mkdir(join(base, name), { recursive: true, mode: 0o755 });
  await mkdir(join(base, name, "root"), { mode: 0o700 });
  const dir = join(base, name, "root", ".aws");
  await mkdir(dir, { mode: 0o700 });
  await writeFile(join(dir, "credentials"), ROOT_CREDENTIALS, { mode: 0o600 });
  return dir;
};

/** The application user's home, theirs, and a command run as that user. */
const appHome = async (name: string) => {
  const home = join(base, name, "home", "app");
  await mkdir(home, { recursive: true });
  await chown(home, APP, APP);
  return home;
};
const asApp = async (command: string, args: string[]) => {
  const r = await run(command, args, { uid: APP, gid: APP });
  expect(r.code, r.stderr).toBe(0);
};

/** Every file under `dir` that holds root's keys and belongs to someone else, or that anyone else may read. */
const leaks = (dir: string): string[] => {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p, "utf8").includes("AKIAROOTPRODUCTION01")) {
        if (st.uid !== 0 || (st.mode & 0o077) !== 0)
          found.push(`${p} (uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`);
      }
    }
  };
  walk(dir);
  return found;
};

const write = (path: string) =>
  runCli(["write", "--credentials-file", path, "--file-owner", `${APP}:${APP}`], fx.env());

describe("credbridge write as root for the application's user (--file-owner), who controls its home", () => {
  it("~/.aws a symbolic link the user planted to root's ~/.aws: refused, root's file untouched and never handed over", async () => {
    const rootAws = await rootHome("dir-link");
    const home = await appHome("dir-link");
    await asApp("ln", ["-s", rootAws, join(home, ".aws")]);
    const before = await stat(join(rootAws, "credentials"));

    const r = await write(join(home, ".aws", "credentials"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${home}/.aws is a symbolic link (to ${rootAws})`);
    expect(r.stderr).toMatch(/the link belongs to uid 65534/);
    expect(fx.sts.calls.length).toBeGreaterThan(0); // it did get credentials, and still wrote nothing
    expect(await readFile(join(rootAws, "credentials"), "utf8")).toBe(ROOT_CREDENTIALS);
    const after = await stat(join(rootAws, "credentials"));
    expect([after.uid, after.mode & 0o777, after.ino]).toEqual([0, 0o600, before.ino]);
    expect(await readdir(rootAws)).toEqual(["credentials"]);
    expect(leaks(join(base, "dir-link"))).toEqual([]);
  });

  it("a link further up (~/x -> root's home, path ~/x/.aws/credentials): refused the same way", async () => {
    const rootAws = await rootHome("upper-link");
    const home = await appHome("upper-link");
    await asApp("ln", ["-s", join(rootAws, ".."), join(home, "x")]);
    const r = await write(join(home, "x", ".aws", "credentials"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${home}/x is a symbolic link`);
    expect(await readFile(join(rootAws, "credentials"), "utf8")).toBe(ROOT_CREDENTIALS);
    expect(await readdir(rootAws)).toEqual(["credentials"]);
    expect(leaks(join(base, "upper-link"))).toEqual([]);
  });

  it("a file the writer did not create there, which the user may not read (root's, 0600): refused, not handed over", async () => {
    await rootHome("foreign-file");
    const home = await appHome("foreign-file");
    await asApp("mkdir", ["-m", "0700", join(home, ".aws")]);
    // Left there by root (an earlier run without --file-owner, a hard link): not the user's to read.
    const path = join(home, ".aws", "credentials");
    await writeFile(path, ROOT_CREDENTIALS, { mode: 0o600 });

    const r = await write(path);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /refusing to write .* for 65534:65534: the file there belongs to uid 0 \(mode 0600\)/,
    );
    expect(await readFile(path, "utf8")).toBe(ROOT_CREDENTIALS);
    expect((await stat(path)).uid).toBe(0);
    expect(leaks(join(base, "foreign-file"))).toEqual([]);
  });

  it("a real ~/.aws of the user's own: written, given to the user, 0600", async () => {
    const home = await appHome("plain");
    await asApp("mkdir", ["-m", "0700", join(home, ".aws")]);
    const path = join(home, ".aws", "credentials");
    const r = await write(path);
    expect(r.code, r.stderr).toBe(0);
    const st = statSync(path);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([APP, APP, 0o600]);
    expect(await readFile(path, "utf8")).toContain(fx.sts.issued.at(-1)?.accessKeyId);
  });

  it("the lock and its queue replaced by links to root's directories: neither followed, root's files stay", async () => {
    const rootAws = await rootHome("lock-links");
    const victim = join(rootAws, "..", "victim");
    await mkdir(join(victim, "keep"), { recursive: true, mode: 0o700 });
    await writeFile(join(victim, "keep", "data"), "root's");
    // Old enough for a writer that compared the lock's time with its clock to break it at once.
    const old = new Date(Date.now() - 3_600_000);
    await utimes(victim, old, old);
    const queueVictim = join(rootAws, "..", "queue-victim");
    await mkdir(queueVictim, { mode: 0o700 });
    const home = await appHome("lock-links");
    await asApp("mkdir", ["-m", "0700", join(home, ".aws")]);
    const path = join(home, ".aws", "credentials");
    await asApp("ln", ["-s", victim, `${path}.lock`]);
    await asApp("ln", ["-s", queueVictim, `${path}.lock.q`]);
    expect((await lstat(`${path}.lock`)).uid).toBe(APP);

    // A writer of the library, root, for the user, with a short stale period.
    const r = await run(process.execPath, [
      fixture("write-once.mjs"),
      path,
      "5",
      "0",
      "2000",
      `${APP}:${APP}`,
    ]);
    expect(lastJsonLine(r.stdout)).toMatchObject({ ok: true });
    expect(await readFile(join(victim, "keep", "data"), "utf8")).toBe("root's");
    expect(await readdir(victim)).toEqual(["keep"]);
    expect(await readdir(queueVictim)).toEqual([]);
    expect(await readFile(join(rootAws, "credentials"), "utf8")).toBe(ROOT_CREDENTIALS);
    // The planted links were in the way, not locks: removed (only the links), and the file written.
    expect((await readdir(join(home, ".aws"))).sort()).toEqual(["credentials", "credentials.lock.q"]);
    expect((await stat(path)).uid).toBe(APP);
  });
});
