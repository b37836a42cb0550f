import { existsSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setprivAs } from "../support/setpriv.js";
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

describe("a writer asked to give the file to another user (owner) it cannot give it to", () => {
  /** One write with `owner`, as `uid:gid` with no supplementary groups, or through `setpriv` arguments. */
  const writeFor = async (dir: string, owner: string, as: { uid: number; gid: number } | string[]) => {
    const args = [fixture("write-once.mjs"), join(dir, "credentials"), "4", "0", String(STALE_MS), owner];
    const r = Array.isArray(as)
      ? await run("setpriv", [...as, process.execPath, ...args])
      : await run(process.execPath, args, as);
    return lastJsonLine(r.stdout);
  };
  const sharedDir = async (name: string) => {
    const dir = join(base, name);
    await mkdir(dir, { mode: 0o777 });
    await chmod(dir, 0o777);
    return dir;
  };

  it("as another uid without CAP_CHOWN: ERR_CHOWN naming the cause and both fixes, nothing written", async () => {
    const dir = await sharedDir("chown-other-uid");
    const result = await writeFor(dir, "10000:10000", { uid: APP, gid: APP });
    expect(result).toMatchObject({ ok: false, code: "ERR_CHOWN", syscallCode: "EPERM" });
    expect(result.message).toContain(`runs as ${APP}:${APP} without CAP_CHOWN`);
    expect(result.message).toContain("runAsUser: 10000, runAsGroup: 10000");
    expect(result.message).toContain('add: ["CHOWN"]');
    expect(result.message).not.toMatch(/check the directory's owner/);
    expect(existsSync(join(dir, "credentials"))).toBe(false);
  });

  it("as root with CAP_CHOWN dropped (capabilities: drop: [ALL]): ERR_CHOWN saying so", async () => {
    const dir = await sharedDir("chown-root-no-caps");
    const noCaps = setprivAs(0, 0);
    const result = await writeFor(dir, "10000:10000", noCaps);
    expect(result).toMatchObject({ ok: false, code: "ERR_CHOWN" });
    expect(result.message).toContain("runs as 0:0 with CAP_CHOWN dropped");
  });

  it("as that very user: writes, no chown needed", async () => {
    const dir = await sharedDir("chown-same-uid");
    const result = await writeFor(dir, `${APP}:${APP}`, { uid: APP, gid: APP });
    expect(result).toMatchObject({ ok: true });
  });
});

describe("an emptyDir under the pod's fsGroup (group fsGroup, set-group-ID, 2777)", () => {
  it("a writer of another uid in that group writes a file of that group, which the application's uid reads", async () => {
    const FS_GROUP = 10000;
    const dir = join(base, "fsgroup");
    await mkdir(dir);
    await chown(dir, 0, FS_GROUP);
    await chmod(dir, 0o2777);
    const path = join(dir, "credentials");
    // The manifests' sidecar: uid 65532, the pod's fsGroup as a supplementary group, no capabilities.
    const sidecar = setprivAs(65532, 65532, [FS_GROUP]);
    // The webhook's and the manifests' mode for an fsGroup: 0640.
    const write = (id: number) =>
      run("setpriv", [
        ...sidecar,
        process.execPath,
        fixture("write-once.mjs"),
        path,
        `${id}`,
        "0",
        `${STALE_MS}`,
        "",
        "640",
      ]);
    expect(lastJsonLine((await write(5)).stdout)).toMatchObject({ ok: true });
    // A second write replaces the file through the lock's holder directory again.
    expect(lastJsonLine((await write(6)).stdout)).toMatchObject({ ok: true });
    const st = await stat(path);
    expect({ uid: st.uid, gid: st.gid }).toEqual({ uid: 65532, gid: FS_GROUP });
    // Harbor's registry: uid 10000, in the fsGroup.
    const read = await run("setpriv", [
      "--reuid",
      "10000",
      "--regid",
      `${FS_GROUP}`,
      "--clear-groups",
      "cat",
      path,
    ]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain("[own-6]");
  });
});
