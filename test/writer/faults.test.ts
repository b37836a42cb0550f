import { closeSync, existsSync, openSync, writeSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { manualRuntime } from "@credbridge/core/testing";
import { isCredentialsFileError, writeCredentials } from "@credbridge/writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../support/run.js";
// @ts-expect-error: a plain .mjs fixture without types
import { credsFor } from "./fixtures/creds.mjs";
import { fixture, lastJsonLine } from "./helpers.js";

const isRoot = process.geteuid?.() === 0;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-faults-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A small tmpfs of our own, when this process may mount one (root with CAP_SYS_ADMIN). */
const mountTmpfs = async (where: string, size: string) => {
  await mkdir(where, { recursive: true });
  return (await run("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", where])).code === 0;
};
const probe = join(tmpdir(), `credbridge-probe-${process.pid}`);
const canMount = isRoot && (await mountTmpfs(probe, "64k"));
if (canMount) await run("umount", [probe]);
await rm(probe, { recursive: true, force: true });

const expectIntact = async (path: string, before: string) => {
  expect(await readFile(path, "utf8")).toBe(before);
  const dirOf = join(path, "..");
  expect((await readdir(dirOf)).filter((n) => n.endsWith(".tmp") || n.endsWith(".lock"))).toEqual([]);
};

describe("a directory the writer may not write", () => {
  it(`rejects with EACCES naming the path, old file intact (${isRoot ? "writer run as nobody" : "directory 0555"})`, async () => {
    const sub = join(dir, "read-only");
    await mkdir(sub);
    const path = join(sub, "credentials");
    await writeCredentials(credsFor(1, 0), { path, profile: "own-1", mode: 0o644 });
    const before = await readFile(path, "utf8");
    let result: { ok: boolean; code?: string; syscallCode?: string; message?: string };
    if (isRoot) {
      // Root ignores permission bits: ask the kernel as an unprivileged user.
      await chmod(dir, 0o755);
      await chmod(sub, 0o755);
      const r = await run(process.execPath, [fixture("write-once.mjs"), path, "2", "0"], {
        uid: 65534,
        gid: 65534,
      });
      result = lastJsonLine(r.stdout);
    } else {
      await chmod(sub, 0o555);
      result = await writeCredentials(credsFor(2, 0), { path, profile: "own-2" }).then(
        () => ({ ok: true }),
        (e) => ({ ok: false, code: e.code, syscallCode: e.syscallCode, message: e.message }),
      );
      await chmod(sub, 0o755);
    }
    expect(result).toMatchObject({ ok: false, code: "ERR_WRITE", syscallCode: "EACCES" });
    expect(result.message).toContain(path);
    expect(result.message).toMatch(/permission denied/);
    await expectIntact(path, before);
  });
});

describe.runIf(canMount)("real small file systems (root: tmpfs mounts)", () => {
  it("read-only: rejects with EROFS naming the path, old file intact", async () => {
    const mnt = join(dir, "ro");
    expect(await mountTmpfs(mnt, "1m")).toBe(true);
    try {
      const path = join(mnt, "credentials");
      await writeCredentials(credsFor(1, 0), { path, profile: "own-1" });
      const before = await readFile(path, "utf8");
      expect((await run("mount", ["-o", "remount,ro", mnt])).code).toBe(0);
      const error = await writeCredentials(credsFor(1, 1), { path, profile: "own-1" }).catch((e) => e);
      expect(isCredentialsFileError(error) && error.code).toBe("ERR_WRITE");
      expect(error.syscallCode).toBe("EROFS");
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/read-only/);
      await expectIntact(path, before);
    } finally {
      await run("umount", [mnt]);
    }
  });

  it("full: rejects with ENOSPC naming the path, old file intact, and recovers once space is freed", async () => {
    const mnt = join(dir, "full");
    expect(await mountTmpfs(mnt, "64k")).toBe(true);
    try {
      const path = join(mnt, "credentials");
      await writeCredentials(credsFor(1, 0), { path, profile: "own-1" });
      const before = await readFile(path, "utf8");
      // Fill every remaining byte.
      const filler = join(mnt, "filler");
      const fd = openSync(filler, "w");
      try {
        for (;;) writeSync(fd, Buffer.alloc(4096));
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
      } finally {
        closeSync(fd);
      }
      const error = await writeCredentials(credsFor(1, 1), { path, profile: "own-1" }).catch((e) => e);
      expect(isCredentialsFileError(error) && error.code).toBe("ERR_WRITE");
      expect(error.syscallCode).toBe("ENOSPC");
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/full/);
      expect(await readFile(path, "utf8")).toBe(before);
      expect((await readdir(mnt)).sort()).toEqual(["credentials", "filler"]);

      await unlink(filler);
      await writeCredentials(credsFor(1, 2), { path, profile: "own-1" });
      expect(await readFile(path, "utf8")).toContain("ASIAW1S2");
    } finally {
      await run("umount", [mnt]);
    }
  });
});

describe("a file system out of inodes (root: a tmpfs with nr_inodes)", () => {
  it("ENOSPC making the lock's holder directory: nothing left behind, and the next writer does not wait", async () => {
    // A real ENOSPC is the point: without a mount of its own this test must fail, not pass unrun.
    expect(canMount, "mounting a tmpfs needs root with CAP_SYS_ADMIN (CI runs as root)").toBe(true);
    const mnt = join(dir, "inodes");
    await mkdir(mnt, { recursive: true });
    expect(
      (await run("mount", ["-t", "tmpfs", "-o", "size=1m,nr_inodes=32,mode=0755", "tmpfs", mnt])).code,
    ).toBe(0);
    try {
      const path = join(mnt, "credentials");
      await writeCredentials(credsFor(1, 0), { path, profile: "own-1" });
      const before = await readFile(path, "utf8");
      // Take every inode but one: the lock directory gets it, its holder directory cannot.
      const fillers: string[] = [];
      try {
        for (;;) {
          const f = join(mnt, `filler-${fillers.length}`);
          closeSync(openSync(f, "wx"));
          fillers.push(f);
        }
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
      }
      await unlink(fillers.pop() as string);

      const error = await writeCredentials(credsFor(1, 1), { path, profile: "own-1" }).catch((e) => e);
      expect(isCredentialsFileError(error) && error.code).toBe("ERR_WRITE");
      expect(error.syscallCode).toBe("ENOSPC");
      expect(error.message).toMatch(/the file system is full/);
      expect(await readFile(path, "utf8")).toBe(before);
      expect((await readdir(mnt)).filter((n) => !n.startsWith("filler-"))).toEqual(["credentials"]);

      // Space again: the next write takes the lock at once (its clock would show any wait).
      for (const f of fillers.splice(0, 4)) await unlink(f);
      const fake = manualRuntime({ start: Date.now() });
      await writeCredentials(credsFor(1, 2), { path, profile: "own-1", runtime: fake.runtime });
      expect(fake.sleeps).toEqual([]);
      expect(await readFile(path, "utf8")).toContain("ASIAW1S2");
    } finally {
      await run("umount", [mnt]);
    }
  });
});

describe("a symlinked target", () => {
  it("is refused with a message naming the link and where it points; nothing is written through it", async () => {
    const elsewhere = join(dir, "elsewhere");
    await mkdir(elsewhere);
    const real = join(elsewhere, "credentials");
    await writeFile(real, "[victim]\nk = v\n");
    const link = join(dir, "linked-credentials");
    await symlink(real, link);
    const error = await writeCredentials(credsFor(1, 0), { path: link, profile: "own-1" }).catch((e) => e);
    expect(isCredentialsFileError(error) && error.code).toBe("ERR_SYMLINK");
    expect(error.message).toContain(link);
    expect(error.message).toContain(real);
    expect(await readFile(real, "utf8")).toBe("[victim]\nk = v\n");
    expect(existsSync(`${link}.lock`)).toBe(false);
  });
});
