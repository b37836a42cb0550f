import { type ChildProcess, spawn } from "node:child_process";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureAuthTokenFile } from "./auth-token-file.js";

/** The other user: the application sharing the volume, who may plant links in it. */
const OTHER = 4242;

/**
 * A process of the other user that swaps, as fast as it can, a symbolic link
 * to `target` in for `name` in `dir` (rename over it, or move a directory
 * away first): the race of a 0777 emptyDir shared with the application.
 */
const racer = (dir: string, name: string, target: string): ChildProcess =>
  spawn(
    "python3",
    [
      "-c",
      `
import os, sys
d, name, target = sys.argv[1], sys.argv[2], sys.argv[3]
path = os.path.join(d, name)
swap = os.path.join(d, ".swap")
n = 0
while True:
    n += 1
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            os.rename(path, os.path.join(d, ".moved-%d" % n))
        try:
            os.unlink(swap)
        except FileNotFoundError:
            pass
        os.symlink(target, swap)
        os.rename(swap, path)
    except OSError:
        pass
`,
      dir,
      name,
      target,
    ],
    { uid: OTHER, gid: OTHER, stdio: "ignore" },
  );

let root: string;
let shared: string;
let running: ChildProcess | undefined;
beforeEach(async () => {
  // Only root can hand files to another user, and only a second real user can race it.
  expect(process.geteuid?.(), "this test needs root: it runs a racing process as uid 4242").toBe(0);
  root = await mkdtemp(join(tmpdir(), "credbridge-token-race-"));
  await chmod(root, 0o755);
  shared = join(root, "shared");
  await mkdir(shared);
  // The emptyDir every container of the pod can write, without the sticky bit.
  await chmod(shared, 0o777);
});
afterEach(async () => {
  running?.kill("SIGKILL");
  running = undefined;
  await rm(root, { recursive: true, force: true });
});

const started = async (child: ChildProcess) => {
  running = child;
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
};

describe("ensureAuthTokenFile in a directory another user can write", () => {
  it("never changes the mode or owner of a file a swapped-in symlink points to", {
    timeout: 30_000,
  }, async () => {
    const victim = join(root, "victim");
    await writeFile(victim, "root's file\n", { mode: 0o644 });
    const token = join(shared, "token");
    await started(racer(shared, "token", victim));
    let created = 0;
    let linked = 0;
    // 300 rounds at least, on until each side has won one (a loaded machine may starve either for a while).
    for (let i = 0; i < 300 || ((created === 0 || linked === 0) && i < 5_000); i++) {
      await rm(token, { force: true });
      if (await ensureAuthTokenFile(token, `${OTHER}:${OTHER}`, 0o600)) created++;
      if ((await lstat(token).catch(() => undefined))?.isSymbolicLink()) linked++;
    }
    running?.kill("SIGKILL");
    // Both sides won some rounds: the race really ran.
    expect(created).toBeGreaterThan(0);
    expect(linked).toBeGreaterThan(0);
    const after = await stat(victim);
    expect({ uid: after.uid, gid: after.gid, mode: after.mode & 0o777 }).toEqual({
      uid: 0,
      gid: 0,
      mode: 0o644,
    });
    expect(await readFile(victim, "utf8")).toBe("root's file\n");
  });

  it("never hands a directory a swapped-in symlink points to over to the other user, nor writes into it", {
    timeout: 30_000,
  }, async () => {
    const victimDir = join(root, "victim-dir");
    await mkdir(victimDir, { mode: 0o755 });
    await chmod(victimDir, 0o755);
    const token = join(shared, "sub", "token");
    await started(racer(shared, "sub", victimDir));
    let created = 0;
    let refused = 0;
    let rounds = 0;
    for (; rounds < 300 || ((created === 0 || refused === 0) && rounds < 5_000); rounds++) {
      for (const entry of await readdir(shared)) {
        // The racer changes entries under our feet: whatever is left goes next round.
        await rm(join(shared, entry), { recursive: true, force: true }).catch(() => {});
      }
      try {
        if (await ensureAuthTokenFile(token, `${OTHER}:${OTHER}`, 0o600)) created++;
      } catch (error) {
        expect((error as Error).message).toMatch(/another user|symbolic link/);
        refused++;
      }
    }
    running?.kill("SIGKILL");
    expect(created + refused).toBe(rounds);
    expect(refused).toBeGreaterThan(0);
    expect(created).toBeGreaterThan(0);
    const after = await stat(victimDir);
    expect({ uid: after.uid, mode: after.mode & 0o777 }).toEqual({ uid: 0, mode: 0o755 });
    expect(await readdir(victimDir)).toEqual([]);
  });
});

describe("ensureAuthTokenFile", () => {
  it("creates the missing directories 0700 for the owner and the file with the mode asked, through the umask", async () => {
    const token = join(root, "a", "b", "token");
    const umask = process.umask(0o077);
    try {
      expect(await ensureAuthTokenFile(token, `${OTHER}:${OTHER}`, 0o640)).toBe(true);
    } finally {
      process.umask(umask);
    }
    for (const dir of [join(root, "a"), join(root, "a", "b")]) {
      expect(await stat(dir)).toMatchObject({ uid: OTHER, gid: OTHER });
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
    }
    const file = await stat(token);
    expect({ uid: file.uid, mode: file.mode & 0o777 }).toEqual({ uid: OTHER, mode: 0o640 });
    expect(await readFile(token, "utf8")).toMatch(/^[\w-]{43}$/);
    // An existing file is left as it is.
    expect(await ensureAuthTokenFile(token, undefined)).toBe(false);
  });

  it("follows a link only root could have placed, and refuses one planted where others can write", async () => {
    const real = join(root, "real");
    await mkdir(real);
    await symlink(real, join(root, "via-root"));
    expect(await ensureAuthTokenFile(join(root, "via-root", "token"), undefined)).toBe(true);
    expect((await lstat(join(real, "token"))).isFile()).toBe(true);

    await symlink(real, join(shared, "planted"));
    await expect(ensureAuthTokenFile(join(shared, "planted", "token2"), undefined)).rejects.toThrow(
      /planted is a symbolic link \(to .*real\) that another user could have planted or could change: .*shared is writable by group or others \(mode 0777\)/,
    );
    await expect(lstat(join(real, "token2"))).rejects.toThrow(/ENOENT/);
  });

  it("never follows a symlink planted at the file's own name", async () => {
    const victim = join(root, "victim");
    await writeFile(victim, "x", { mode: 0o644 });
    await symlink(victim, join(shared, "token"));
    expect(await ensureAuthTokenFile(join(shared, "token"), `${OTHER}:${OTHER}`)).toBe(false);
    expect(await stat(victim)).toMatchObject({ uid: 0, mode: expect.any(Number) });
    expect((await stat(victim)).mode & 0o777).toBe(0o644);
  });
});
