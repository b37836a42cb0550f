import { existsSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs fixture without types
import { checkProfile, parseStrict } from "./fixtures/creds.mjs";
import { fixture, forkFixture, killFixtures, lastJsonLine, run } from "./helpers.js";

/** The application's user: nobody, which every Debian machine has. */
const APP = 65534;
const STALE_MS = 2_000;

afterEach(killFixtures);

let base: string;
beforeAll(async () => {
  // Two real users are the point: without root there is no second one to be.
  if (process.geteuid?.() !== 0) {
    throw new Error("these tests run writers as two users and need root (these machines and CI run as root)");
  }
  base = await mkdtemp(join(tmpdir(), "credbridge-users-"));
  await chmod(base, 0o755);
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A root writer killed with SIGKILL while it holds the lock, its temp file written. */
const killRootHolder = async (path: string) => {
  const holder = forkFixture("hold-lock.mjs", [path, String(STALE_MS)]);
  await new Promise<void>((resolve, reject) => {
    holder.child.stdout?.on("data", (d) => String(d).includes("holding") && resolve());
    holder.child.once("exit", (code) => reject(new Error(`holder exited early (${code})`)));
  });
  holder.child.kill("SIGKILL");
  await holder.exited;
  expect(existsSync(`${path}.lock`)).toBe(true);
};

/** One write by the application's user, in a fresh process. */
const writeAsApp = async (path: string, id: number) =>
  lastJsonLine(
    (
      await run(process.execPath, [fixture("write-once.mjs"), path, String(id), "0", String(STALE_MS)], {
        uid: APP,
        gid: APP,
      })
    ).stdout,
  );

describe("a lock left by a killed root writer, and a writer running as the application's user", () => {
  it.each([
    ["an emptyDir every container writes (root, 0777)", 0, 0o777],
    ["the application's own ~/.aws (its user, 0700)", APP, 0o700],
  ])("in %s: the application's writer breaks it once stale and writes", async (_, owner, mode) => {
    const dir = join(base, `shared-${owner}-${mode.toString(8)}`);
    await mkdir(dir);
    await chown(dir, owner, owner);
    await chmod(dir, mode);
    const path = join(dir, "credentials");
    await killRootHolder(path);
    // And a queue a root waiter left behind, as older versions made it: root's, 0700.
    await mkdir(`${path}.lock.q`, { mode: 0o700 });
    await writeFile(`${path}.lock.q/00000000000000001-${2 ** 30}-deadbeef`, "");

    const result = await writeAsApp(path, 2);
    console.log(
      `users: the application's writer got past root's dead lock after ${Math.round(result.ms)} ms`,
    );
    expect(result).toMatchObject({ ok: true });
    expect(result.ms).toBeGreaterThanOrEqual(STALE_MS);
    const sections: Map<string, Record<string, string>> = parseStrict(await readFile(path, "utf8"));
    expect(checkProfile("own-2", sections.get("own-2"))).toEqual({ writer: 2, seq: 0 });
    expect(sections.has("own-9")).toBe(false);
    // Root's lock and temp file are gone; only the unusable old queue remains.
    expect((await readdir(dir)).sort()).toEqual(["credentials", "credentials.lock.q"]);
  });

  it("one it may not remove (root's, 0700, with a file in it, as older versions left it): ERR_LOCKED naming it, its owner and mode, and the fix", async () => {
    const dir = join(base, "legacy");
    await mkdir(dir, { mode: 0o777 });
    await chmod(dir, 0o777);
    const path = join(dir, "credentials");
    await mkdir(`${path}.lock/4242-0123456789ab`, { recursive: true, mode: 0o700 });
    await writeFile(`${path}.lock/4242-0123456789ab/credentials.tmp`, "half a file");
    await chmod(`${path}.lock`, 0o700);

    const result = await writeAsApp(path, 3);
    expect(result).toMatchObject({ ok: false, code: "ERR_LOCKED", syscallCode: "EACCES" });
    expect(result.message).toContain(`${path}.lock`);
    expect(result.message).toMatch(/belongs to uid 0 with mode 0700/);
    expect(result.message).toMatch(new RegExp(`this writer \\(uid ${APP}\\) may not remove it`));
    expect(result.message).toMatch(/Remove .*credentials\.lock as uid 0 or root/);
    expect(result.message).not.toMatch(/needs write and search permission/);
    expect(existsSync(`${path}.lock/4242-0123456789ab/credentials.tmp`)).toBe(true);
  });
});

describe("a directory with the set-group-ID bit (a Kubernetes volume with fsGroup)", () => {
  it("the file takes the directory's group, as a file made there directly would, so the group can read it", async () => {
    // What the kubelet makes of an emptyDir with fsGroup 10000: group 10000, g+s.
    const dir = join(base, "fsgroup");
    await mkdir(dir);
    await chown(dir, 0, 10_000);
    await chmod(dir, 0o2770);
    const path = join(dir, "credentials");
    // Written by root here; the group comes from the directory whoever writes.
    const written = lastJsonLine(
      (await run(process.execPath, [fixture("write-once.mjs"), path, "5", "0", String(STALE_MS)])).stdout,
    );
    expect(written).toMatchObject({ ok: true });
    expect((await stat(path)).gid).toBe(10_000);
  });
});
