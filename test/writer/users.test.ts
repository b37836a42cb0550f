import { existsSync } from "node:fs";
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
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { run } from "../support/run.js";
import { setprivAs } from "../support/setpriv.js";
// @ts-expect-error: a plain .mjs fixture without types
import { checkProfile, parseStrict } from "./fixtures/creds.mjs";
import { fixture, forkFixture, killFixtures, lastJsonLine } from "./helpers.js";

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
    // Nothing of the lock is left beside it.
    expect(await readdir(dir)).toEqual(["credentials"]);
  });
});

/** A third user: neither the writer (root) nor the one it writes for (APP). */
const THIRD = 4242;

/** Runs a shell command as `uid`; resolves with its exit code and output, never throws. */
const as = (uid: number, script: string) => run("sh", ["-c", script], { uid, gid: uid });

/** A root writer holding the lock for `owner` in `path`'s directory, its temp file written, until the test kills it. */
const rootHolding = async (path: string, owner: string) => {
  const holder = forkFixture("hold-lock.mjs", [path, String(STALE_MS), owner]);
  await new Promise<void>((resolve, reject) => {
    holder.child.stdout?.on("data", (d) => String(d).includes("holding") && resolve());
    holder.child.once("exit", (code) => reject(new Error(`holder exited early (${code})`)));
  });
  return holder;
};

describe("a sticky directory (1777, like /tmp or /dev/shm) shared with a third user", () => {
  it("the third user can neither put a file of theirs in the writer's temp file's place nor remove the holder; the file's owner still breaks a dead root writer's lock", async () => {
    const dir = join(base, "sticky");
    await mkdir(dir);
    await chmod(dir, 0o1777);
    const path = join(dir, "credentials");
    const holder = await rootHolding(path, `${APP}:${APP}`);
    const [name] = await readdir(`${path}.lock`);
    const temp = join(`${path}.lock`, name as string, "credentials.tmp");
    expect(existsSync(temp)).toBe(true);

    const mine = join(dir, "planted");
    const swap = await as(
      THIRD,
      `printf '[planted]\\naws_access_key_id = AKIAPLANTED\\n' > ${mine} && mv -f ${mine} ${temp}`,
    );
    expect(swap.code, "the third user renamed a file over the writer's temp file").not.toBe(0);
    const extra = await as(THIRD, `: > ${mine}2 && mv ${mine}2 ${join(`${path}.lock`, name as string, "x")}`);
    expect(extra.code, "the third user put a file in the holder").not.toBe(0);
    const remove = await as(THIRD, `rm -rf ${join(`${path}.lock`, name as string)} ${path}.lock`);
    expect(remove.code).not.toBe(0);
    expect(existsSync(temp)).toBe(true);

    holder.child.kill("SIGKILL");
    await holder.exited;
    // The application's own writer takes the dead lock over (the holder and its temp file are the app's).
    const result = await writeAsApp(path, 2);
    expect(result).toMatchObject({ ok: true });
    expect((await readdir(dir)).sort()).toEqual(["credentials", "planted", "planted2"]);
    const sections: Map<string, Record<string, string>> = parseStrict(await readFile(path, "utf8"));
    expect(sections.has("planted")).toBe(false);
    expect((await lstat(path)).uid).toBe(APP);
  });
});

describe("a holder half made by a root writer killed before it gave the holder away", () => {
  it("in the application's ~/.aws: the application's writer removes the empty root holder (0700) and writes", async () => {
    const dir = join(base, "half-made");
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, APP, APP);
    const path = join(dir, "credentials");
    // What strace's SIGKILL at the holder's fchown leaves: the lock given to the app, the holder still root's.
    await mkdir(`${path}.lock`, { mode: 0o700 });
    await chown(`${path}.lock`, APP, APP);
    await mkdir(`${path}.lock/4190000-0123456789ab`, { mode: 0o700 });

    const result = await writeAsApp(path, 4);
    expect(result).toMatchObject({ ok: true });
    expect(await readdir(dir)).toEqual(["credentials"]);
  });
});

describe("a file another user put where the writer writes", () => {
  it("root without --file-owner, in a shared 0777 directory: a file the third user put there is refused, named with its owner and the fix, and never given the credentials", async () => {
    const dir = join(base, "shared-plant");
    await mkdir(dir);
    await chmod(dir, 0o777);
    const path = join(dir, "credentials");
    const first = lastJsonLine(
      (await run(process.execPath, [fixture("write-once.mjs"), path, "1", "0", String(STALE_MS)])).stdout,
    );
    expect(first).toMatchObject({ ok: true });
    // The third user may not read it; the directory lets them replace it with an empty file of theirs.
    expect((await as(THIRD, `cat ${path}`)).code).not.toBe(0);
    const plant = await as(THIRD, `rm -f ${path} && : > ${path} && chmod 600 ${path}`);
    expect(plant.code, plant.stderr).toBe(0);

    const next = lastJsonLine(
      (await run(process.execPath, [fixture("write-once.mjs"), path, "1", "1", String(STALE_MS)])).stdout,
    );
    expect(next).toMatchObject({ ok: false, code: "ERR_FILE_OWNER" });
    expect(next.message).toContain(
      `refusing to write ${path}: the file there belongs to uid ${THIRD} (mode 0600)`,
    );
    expect(next.message).toMatch(/Remove it .*--file-owner 4242:4242/);
    expect((await readFile(path, "utf8")).length).toBe(0);
    expect((await lstat(path)).uid).toBe(THIRD);
  });

  it("root for the application (--file-owner), in a sticky directory: a file the third user planted first is refused, not merged and handed over", async () => {
    const dir = join(base, "sticky-plant");
    await mkdir(dir);
    await chmod(dir, 0o1777);
    const path = join(dir, "credentials");
    const plant = await as(
      THIRD,
      `printf '[default]\\ncredential_process = /tmp/evil\\n\\n[planted]\\naws_access_key_id = AKIAPLANTED\\n' > ${path}; chmod 644 ${path}`,
    );
    expect(plant.code, plant.stderr).toBe(0);
    const r = lastJsonLine(
      (
        await run(process.execPath, [
          fixture("write-once.mjs"),
          path,
          "5",
          "0",
          String(STALE_MS),
          `${APP}:${APP}`,
        ])
      ).stdout,
    );
    expect(r).toMatchObject({ ok: false, code: "ERR_FILE_OWNER" });
    expect(r.message).toContain(
      `belongs to uid ${THIRD} (mode 0644), neither to this writer's user (uid 0) nor to uid ${APP}`,
    );
    expect((await lstat(path)).uid).toBe(THIRD);
    expect(await readFile(path, "utf8")).not.toMatch(/own-5/);
  });

  it("a writer not root, in a sticky directory: a third user's file it cannot even read is refused for its owner, not blamed on the directory", async () => {
    const dir = join(base, "sticky-unreadable");
    await mkdir(dir);
    await chmod(dir, 0o1777);
    const path = join(dir, "credentials");
    const plant = await as(THIRD, `: > ${path} && chmod 600 ${path}`);
    expect(plant.code, plant.stderr).toBe(0);
    const r = await writeAsApp(path, 6);
    expect(r).toMatchObject({ ok: false, code: "ERR_FILE_OWNER" });
    expect(r.message).toContain(
      `refusing to write ${path}: the file there belongs to uid ${THIRD} (mode 0600), neither to this writer's user (uid ${APP})`,
    );
    expect(r.message).not.toMatch(/permission on the directory/);
    expect((await lstat(path)).uid).toBe(THIRD);
  });
});
