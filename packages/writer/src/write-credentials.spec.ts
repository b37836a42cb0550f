import { execFileSync } from "node:child_process";
import * as nodeFs from "node:fs";
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
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isCredbridgeError } from "@credbridge/core";
import { manualRuntime } from "@credbridge/core/testing";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isCredentialsFileError } from "./errors.js";
import { fsError, hookedFs } from "./internal/hooked-fs.spec.helper.js";
import { readSections } from "./internal/ini-merge.js";
import { EXPIRATION_KEY, writeCredentials, writeProfiles } from "./write-credentials.js";

const HOUR = 3_600_000;
const creds = (n: number, expiration: Date | undefined = new Date(Date.now() + HOUR)) => ({
  accessKeyId: `ASIAEXAMPLE${n}XYZ`,
  secretAccessKey: `secret/${n}+key`,
  sessionToken: `IQoJb3JpZ2luX2VjE${n}//token==`,
  ...(expiration ? { expiration } : {}),
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-writer-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tempFiles = async (d: string) =>
  (await readdir(d)).filter((n) => n.endsWith(".tmp") || n.endsWith(".lock"));

describe("writeCredentials", () => {
  it("creates the directory 0700 and the file 0600 with all keys", async () => {
    const path = join(dir, "home", ".aws", "credentials");
    const c = creds(1, new Date("2099-01-02T03:04:05.678Z"));
    const result = await writeCredentials(c, { path });
    expect(result).toEqual({ path, profile: "default", changed: true, expiration: c.expiration });
    expect((await stat(join(dir, "home", ".aws"))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, "utf8")).toBe(
      [
        "[default]",
        `aws_access_key_id = ${c.accessKeyId}`,
        `aws_secret_access_key = ${c.secretAccessKey}`,
        `aws_session_token = ${c.sessionToken}`,
        `aws_security_token = ${c.sessionToken}`,
        `${EXPIRATION_KEY} = 2099-01-02T03:04:05Z`,
        "",
      ].join("\n"),
    );
    expect(await tempFiles(join(dir, "home", ".aws"))).toEqual([]);
  });

  it("takes the path from AWS_SHARED_CREDENTIALS_FILE, then HOME, in the injected environment", async () => {
    const fromEnv = join(dir, "env-creds");
    await writeCredentials(creds(1), { env: { AWS_SHARED_CREDENTIALS_FILE: fromEnv } });
    expect(readSections(await readFile(fromEnv, "utf8")).get("default")?.aws_access_key_id).toBe(
      creds(1).accessKeyId,
    );
    const result = await writeCredentials(creds(2), { env: { HOME: dir }, profile: "app" });
    expect(result.path).toBe(join(dir, ".aws", "credentials"));
  });

  it("merges: other profiles stay byte for byte, the profile's other keys stay, stale companions go", async () => {
    const path = join(dir, "credentials");
    const before = "# hand-written\n[other.profile]\naws_access_key_id = AKIAKEEP\nnote = a;b#c\n\n";
    await writeFile(
      path,
      `${before}[app]\nregion = eu-west-1\naws_account_id = 999\naws_security_token = stale\n`,
    );
    await writeCredentials({ accessKeyId: "AKIASTATIC1", secretAccessKey: "s" }, { path, profile: "app" });
    const text = await readFile(path, "utf8");
    expect(text).toBe(
      `${before}[app]\nregion = eu-west-1\naws_access_key_id = AKIASTATIC1\naws_secret_access_key = s\n`,
    );
  });

  it("leaves aws_security_token out, and removes an old one, when told to", async () => {
    const path = join(dir, "credentials");
    await writeCredentials(creds(1), { path });
    await writeCredentials(creds(2), { path, securityToken: false });
    const values = readSections(await readFile(path, "utf8")).get("default");
    expect(values?.aws_session_token).toBe(creds(2).sessionToken);
    expect(values).not.toHaveProperty("aws_security_token");
  });

  it("round-trips profile names with dots and writes the account id", async () => {
    const path = join(dir, "credentials");
    await writeCredentials({ ...creds(1), accountId: "123456789012" }, { path, profile: "prod.eu-west-1" });
    await writeCredentials(creds(2), { path, profile: "prod" });
    await writeCredentials(creds(3), { path, profile: "prod.eu-west-1" });
    const sections = readSections(await readFile(path, "utf8"));
    expect([...sections.keys()]).toEqual(["prod.eu-west-1", "prod"]);
    expect(sections.get("prod.eu-west-1")?.aws_access_key_id).toBe(creds(3).accessKeyId);
    expect(sections.get("prod.eu-west-1")).not.toHaveProperty("aws_account_id");
    expect(sections.get("prod")?.aws_access_key_id).toBe(creds(2).accessKeyId);
  });

  it("sets the mode it is given on every write, 0600 by default", async () => {
    const path = join(dir, "credentials");
    await writeCredentials(creds(1), { path, mode: 0o640 });
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    await writeCredentials(creds(2), { path });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("gives the file and the directories it creates to the owner (as root); without the option, refuses the owner's file rather than keep it theirs silently", async () => {
    expect(process.geteuid?.(), "this test gives files away, which takes root (CI runs as root)").toBe(0);
    const path = join(dir, "harbor", ".aws", "credentials");
    await mkdir(join(dir, "harbor"));
    await writeCredentials(creds(1), { path, owner: "10000:10001" });
    for (const p of [path, join(dir, "harbor", ".aws")]) {
      const st = await stat(p);
      expect([st.uid, st.gid]).toEqual([10000, 10001]);
    }
    expect((await stat(join(dir, "harbor"))).uid).toBe(0);
    const before = await readFile(path, "utf8");
    // Rewritten without the option, the file is neither the writer's nor one it writes for.
    const error = await writeCredentials(creds(2), { path }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_FILE_OWNER", path });
    expect((error as Error).message).toMatch(
      /belongs to uid 10000 \(mode 0600\), neither to this writer's user \(uid 0\)/,
    );
    expect((error as Error).message).toMatch(/--file-owner 10000:10001/);
    expect(await readFile(path, "utf8")).toBe(before);
    expect((await stat(path)).uid).toBe(10000);
    // With it, as before.
    await writeCredentials(creds(3), { path, owner: "10000:10001" });
    expect(await readFile(path, "utf8")).toContain("ASIAEXAMPLE3XYZ");
  });

  it.each([
    ["an hour ahead of this clock (a clock stepped back, a file server ahead)", HOUR],
    ["an hour behind it", -HOUR],
  ])(
    "takes over a dead writer's lock once it has seen it unchanged for the stale period, its time %s or not, removing the temp file in it and nothing else",
    async (_, offset) => {
      const path = join(dir, "credentials");
      await mkdir(join(dir, "credentials.lock", "4242-0123456789ab"), { recursive: true });
      await writeFile(join(dir, "credentials.lock", "4242-0123456789ab", "credentials.tmp"), "half a file");
      const then = new Date(Date.now() + offset);
      await utimes(join(dir, "credentials.lock"), then, then);
      await writeFile(join(dir, ".credentials.backup"), "mine");
      // Sleeps move this clock at once: the wait is measured, not spent.
      const fake = manualRuntime({ start: Date.now() });
      await writeCredentials(creds(1), { path, lock: { staleMs: 2_000 }, runtime: fake.runtime });
      const waited = fake.sleeps.reduce((a, b) => a + b, 0);
      expect(waited).toBeGreaterThanOrEqual(2_000);
      expect(waited).toBeLessThan(2_010);
      expect((await readdir(dir)).sort()).toEqual([".credentials.backup", "credentials"]);
    },
  );

  it("refuses expired credentials and leaves the file alone", async () => {
    const path = join(dir, "credentials");
    await writeCredentials(creds(1), { path });
    const before = await readFile(path, "utf8");
    const error = await writeCredentials(creds(2, new Date(Date.now() - 1000)), { path }).catch((e) => e);
    expect(isCredbridgeError(error) && error.code).toBe("ERR_EXPIRED");
    expect(error.message).toMatch(/expired at/);
    expect(error.message).not.toContain(creds(2).secretAccessKey);
    expect(await readFile(path, "utf8")).toBe(before);
  });

  it("refuses values that would break the file", async () => {
    const path = join(dir, "credentials");
    for (const bad of [
      { accessKeyId: "AKIA\n[evil]", secretAccessKey: "s" },
      { accessKeyId: "", secretAccessKey: "s" },
      { accessKeyId: "AKIA", secretAccessKey: "has space" },
    ]) {
      const error = await writeCredentials(bad, { path }).catch((e) => e);
      expect(isCredbridgeError(error) && error.code).toBe("ERR_CONFIG");
    }
    const badName = await writeCredentials(creds(1), { path, profile: "a]b" }).catch((e) => e);
    expect(badName.message).toMatch(/invalid profile name/);
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a symbolic link, naming both ends, and writes nothing through it", async () => {
    const real = join(dir, "real-credentials");
    await writeFile(real, "[keep]\nk = v\n");
    const link = join(dir, "credentials");
    await symlink(real, link);
    const error = await writeCredentials(creds(1), { path: link }).catch((e) => e);
    expect(isCredentialsFileError(error) && error.code).toBe("ERR_SYMLINK");
    expect(error.message).toContain(link);
    expect(error.message).toContain(real);
    expect(await readFile(real, "utf8")).toBe("[keep]\nk = v\n");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await tempFiles(dir)).toEqual([]);
  });

  it("refuses a directory and a FIFO in place of the file", async () => {
    await mkdir(join(dir, "credentials"));
    const error = await writeCredentials(creds(1), { path: join(dir, "credentials") }).catch((e) => e);
    expect(isCredentialsFileError(error) && error.code).toBe("ERR_NOT_REGULAR_FILE");
    execFileSync("mkfifo", [join(dir, "fifo")]);
    const fifo = await writeCredentials(creds(1), { path: join(dir, "fifo") }).catch((e) => e);
    expect(isCredentialsFileError(fifo) && fifo.code).toBe("ERR_NOT_REGULAR_FILE");
    expect(await tempFiles(dir)).toEqual([]);
  });

  describe.each([
    ["open-temp", "EROFS", /read-only/],
    ["open-temp", "EACCES", /permission denied/],
    ["write", "ENOSPC", /full/],
    ["sync", "EIO", /I\/O error/],
    ["rename", "ENOSPC", /full/],
  ] as const)("on %s failing with %s", (point, code, hint) => {
    it("rejects naming the path and keeps the old file whole, with no temp file or lock left", async () => {
      const path = join(dir, "credentials");
      await writeCredentials(creds(1), { path });
      const before = await readFile(path, "utf8");
      const fs = hookedFs((at) => {
        if (at === point) throw fsError(code);
      });
      const error = await writeCredentials(creds(2), { path, fs }).catch((e) => e);
      expect(isCredentialsFileError(error) && error.code).toBe("ERR_WRITE");
      expect(error.syscallCode).toBe(code);
      expect(error.path).toBe(path);
      expect(error.message).toContain(path);
      expect(error.message).toMatch(hint);
      expect(error.message).toMatch(/previous file is unchanged/);
      expect(await readFile(path, "utf8")).toBe(before);
      expect(await tempFiles(dir)).toEqual([]);
    });
  });

  it("reports a directory it cannot create", async () => {
    const fs = hookedFs((at) => {
      if (at === "mkdir") throw fsError("EACCES");
    });
    const path = join(dir, "missing", "credentials");
    const error = await writeCredentials(creds(1), { path, fs }).catch((e) => e);
    expect(isCredentialsFileError(error) && error.syscallCode).toBe("EACCES");
    expect(error.message).toContain(join(dir, "missing"));
  });
});

describe("writeCredentials without /proc (macOS, a sandbox without procfs)", () => {
  /** The real file system, as if /proc were not mounted. */
  const noProc = {
    ...nodeFs,
    statSync: ((p: string, options?: nodeFs.StatSyncOptions) => {
      if (String(p).startsWith("/proc/"))
        throw Object.assign(new Error(`ENOENT: '${p}'`), { code: "ENOENT" });
      return nodeFs.statSync(p, options);
    }) as typeof nodeFs.statSync,
    openSync: ((p: string, flags: nodeFs.OpenMode, mode?: nodeFs.Mode) => {
      if (String(p).startsWith("/proc/")) throw new Error(`/proc used without /proc: ${p}`);
      return nodeFs.openSync(p, flags, mode);
    }) as typeof nodeFs.openSync,
  };

  it("writes and locks by the checked path, and still refuses a link another user could have planted", async () => {
    const path = join(dir, "nested", "credentials");
    await writeCredentials(creds(1), { path, fs: noProc });
    await writeCredentials(creds(2), { path, fs: noProc, profile: "other" });
    expect((await readdir(join(dir, "nested"))).sort()).toEqual(["credentials"]);
    expect(readSections(await readFile(path, "utf8")).get("other")?.aws_access_key_id).toBe(
      creds(2).accessKeyId,
    );

    // A directory everyone may write, holding a link: anyone could have put it there.
    const open = join(dir, "open");
    await mkdir(open, { mode: 0o777 });
    await chmod(open, 0o777);
    await symlink(join(dir, "nested"), join(open, "aws"));
    const error = await writeCredentials(creds(3), {
      path: join(open, "aws", "credentials"),
      fs: noProc,
    }).catch((e) => e);
    expect(isCredentialsFileError(error) && error.code).toBe("ERR_SYMLINK");
    expect(error.message).toMatch(/is writable by group or others \(mode 0777\)/);
    expect(readSections(await readFile(path, "utf8")).get("default")?.aws_access_key_id).toBe(
      creds(1).accessKeyId,
    );
  });

  it("follows a link only root or this user could have made, where nobody else may change it", async () => {
    const real = join(dir, "real");
    await mkdir(real);
    await symlink(real, join(dir, "alias"));
    await writeCredentials(creds(1), { path: join(dir, "alias", "credentials") });
    expect(await readdir(real)).toEqual(["credentials"]);
  });
});

describe("writeCredentials never goes backwards, nor inside the margin", () => {
  const at = (offsetMs: number, start: number) => new Date(start + offsetMs);

  it("keeps a profile that holds credentials expiring later (written by another writer while this one waited or stalled)", async () => {
    const path = join(dir, "credentials");
    const laterAt = new Date(Date.now() + 6 * HOUR);
    const later = creds(6, laterAt);
    await writeCredentials(later, { path });
    const before = await readFile(path, "utf8");
    const result = await writeCredentials(creds(1, new Date(Date.now() + HOUR)), { path });
    expect(result).toMatchObject({ changed: false });
    expect(result.expiration?.getTime()).toBe(Math.floor(laterAt.getTime() / 1000) * 1000);
    expect(await readFile(path, "utf8")).toBe(before);
    // Other profiles, and equal or later credentials, are written as ever.
    await writeCredentials(creds(2, new Date(Date.now() + HOUR)), { path, profile: "other" });
    await writeCredentials(creds(7, new Date(Date.now() + 7 * HOUR)), { path });
    expect(readSections(await readFile(path, "utf8")).get("default")?.aws_access_key_id).toBe(
      creds(7).accessKeyId,
    );
  });

  it("re-checks the margin under the lock, just before the rename: credentials that entered it while the temp file synced are not put in place", async () => {
    const fake = manualRuntime();
    const path = join(dir, "credentials");
    await writeCredentials(creds(1, at(HOUR / 2, fake.now())), { path, runtime: fake.runtime });
    const before = await readFile(path, "utf8");
    // A disk that takes 31 seconds to sync the temp file: the credentials had 60 s, the margin is 30.
    const fs = hookedFs((point) => {
      if (point === "sync") fake.jump(31_000);
    });
    const error = await writeCredentials(creds(2, at(HOUR + 60_000, fake.now())), {
      path,
      fs,
      runtime: fake.runtime,
      minRemainingSeconds: 3_600 + 30,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_EXPIRED" });
    expect((error as Error).message).toMatch(/ 3629 s from now, less than the 3630 s every output keeps/);
    expect(await readFile(path, "utf8")).toBe(before);
    expect(await tempFiles(dir)).toEqual([]);
  });

  it("re-checks it after a long wait for the lock: not written, the lock and queue left as they were", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const path = join(dir, "credentials");
    // Another writer holds the lock.
    await mkdir(`${path}.lock/99999-abcdefabcdef`, { recursive: true });
    const writing = writeCredentials(creds(1, at(55_000, fake.now())), {
      path,
      runtime: fake.runtime,
      minRemainingSeconds: 30,
      lock: { staleMs: 60_000, timeoutMs: 120_000 },
    }).catch((e: unknown) => e);
    // It waits, polling; 38 s pass on the wall clock (its polls are real I/O, so the test moves the wall
    // clock alone rather than fire ten thousand fake sleeps); then the lock is released.
    await fake.advance(50);
    fake.jump(38_000);
    await rm(`${path}.lock`, { recursive: true });
    let error: unknown;
    const settled = writing.then((e) => {
      error = e;
    });
    await vi.waitFor(
      async () => {
        await fake.advance(5);
        expect(error).toBeDefined();
      },
      { timeout: 5_000, interval: 1 },
    );
    await settled;
    expect(isCredbridgeError(error) && error.code).toBe("ERR_EXPIRED");
    expect(nodeFs.existsSync(path)).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("writeCredentials on what it did not make", () => {
  it("refuses a file larger than any credentials file without reading it into memory", async () => {
    const path = join(dir, "credentials");
    await writeFile(path, "");
    await nodeFs.promises.truncate(path, 64 * 1024 * 1024);
    const error = await writeCredentials(creds(1), { path }).catch((e: unknown) => e);
    expect(isCredentialsFileError(error) && error.code).toBe("ERR_NOT_REGULAR_FILE");
    expect((error as Error).message).toBe(
      `credbridge: refusing to write ${path}: the file there is larger than 1048576 bytes, which no credentials or config file is. Remove it or choose another path.`,
    );
    expect((await stat(path)).size).toBe(64 * 1024 * 1024);
  });

  it("names a socket in the file's place as such, with the real path, never a /proc/self/fd one", async () => {
    const path = join(dir, "credentials");
    const { createServer } = await import("node:net");
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const error = await writeCredentials(creds(1), { path }).catch((e: unknown) => e);
      expect(isCredentialsFileError(error) && error.code).toBe("ERR_NOT_REGULAR_FILE");
      expect((error as Error).message).toBe(
        `credbridge: refusing to write ${path}: it is a socket. Remove it or choose another path.`,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("names the real path, never a /proc/self/fd one, when a directory on the way keeps changing under it", async () => {
    const real = join(dir, "real");
    await mkdir(real);
    const aws = join(dir, ".aws");
    await symlink(real, aws);
    // Each readlink finds the link gone (EINVAL: no longer a link), as when another user swaps it in a loop.
    const racing = {
      ...nodeFs,
      readlinkSync: ((p: string) => {
        throw Object.assign(new Error(`EINVAL: invalid argument, readlink '${p}'`), { code: "EINVAL" });
      }) as typeof nodeFs.readlinkSync,
    };
    const error = await writeCredentials(creds(2), { path: join(aws, "credentials"), fs: racing }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe(
      `credbridge: refusing to write ${aws}/credentials: ${aws} kept changing while it was being opened (EINVAL): another user is replacing it. Give the file a directory only the writer's user (or root) can change.`,
    );
    expect(await readdir(real)).toEqual([]);
  });

  it("reports a lock taken over as stale between its fsync and its rename as a lost lock (a stalled writer, retried), not as tampering", async () => {
    const path = join(dir, "credentials");
    await writeCredentials(creds(1), { path });
    // What a writer that judged ours stale does: remove our holder (our temp file with it) and take the lock.
    const takenOver = hookedFs((point) => {
      if (point === "sync") {
        nodeFs.rmSync(`${path}.lock`, { recursive: true });
        nodeFs.mkdirSync(`${path}.lock/other-writer`, { recursive: true });
      }
    });
    const error = await writeCredentials(creds(2), { path, fs: takenOver }).catch((e: unknown) => e);
    expect(isCredentialsFileError(error) && error.code).toBe("ERR_LOCKED");
    expect((error as Error).message).toMatch(/lost the lock on /);
    expect(await readFile(path, "utf8")).toContain(creds(1).accessKeyId);
  });

  it("never reports success for a file it did not produce: another file put in its temp file's place, or in the file's right after the rename", async () => {
    const path = join(dir, "credentials");
    await writeCredentials(creds(1), { path });
    const other = join(dir, "other");
    // Between its fsync and the rename: someone renames their own file over the temp file.
    const swapTemp = hookedFs((point) => {
      if (point === "sync") {
        nodeFs.writeFileSync(other, "[default]\naws_access_key_id = AKIAPLANTED\n");
        const [holder] = nodeFs.readdirSync(`${path}.lock`);
        nodeFs.renameSync(other, join(`${path}.lock`, holder as string, "credentials.tmp"));
      }
    });
    const before = await writeCredentials(creds(2), { path, fs: swapTemp }).catch((e: unknown) => e);
    expect(isCredentialsFileError(before) && before.code).toBe("ERR_TAMPERED");
    expect((before as Error).message).toMatch(/the temporary file was replaced before the rename/);
    expect(await readFile(path, "utf8")).toContain(creds(1).accessKeyId);
    // Right after it: someone renames theirs over the file.
    const swapAfter = {
      ...nodeFs,
      renameSync: (from: nodeFs.PathLike, to: nodeFs.PathLike) => {
        nodeFs.renameSync(from, to);
        nodeFs.writeFileSync(other, "[default]\naws_access_key_id = AKIAPLANTED\n");
        nodeFs.renameSync(other, path);
      },
    };
    const after = await writeCredentials(creds(3), { path, fs: swapAfter }).catch((e: unknown) => e);
    expect(isCredentialsFileError(after) && after.code).toBe("ERR_TAMPERED");
    expect((after as Error).message).toMatch(
      /was not replaced with what this writer wrote: another file took its place right after the rename/,
    );
    expect(await readdir(dir)).toEqual(["credentials"]);
  });
});

describe("writeProfiles", () => {
  it("writes several profiles in one rename, keeping other sections and a later section of its own", async () => {
    const path = join(dir, "credentials");
    await writeFile(path, "[other]\naws_access_key_id = AKIAOTHER\n");
    const later = creds(9, new Date(Date.now() + 2 * HOUR));
    await writeCredentials(later, { path, profile: "b" });
    const results = await writeProfiles(
      [
        { profile: "a", credentials: creds(1) },
        { profile: "b", credentials: creds(2) },
      ],
      { path },
    );
    expect(results.map((r) => [r.profile, r.changed])).toEqual([
      ["a", true],
      ["b", false],
    ]);
    const sections = readSections(await readFile(path, "utf8"));
    expect(sections.get("other")?.aws_access_key_id).toBe("AKIAOTHER");
    expect(sections.get("a")?.aws_access_key_id).toBe(creds(1).accessKeyId);
    expect(sections.get("b")?.aws_access_key_id).toBe(later.accessKeyId);
    expect(await tempFiles(dir)).toEqual([]);
  });

  it("refuses the whole write, naming the profile, when one profile's credentials are inside the margin", async () => {
    const path = join(dir, "credentials");
    const error = await writeProfiles(
      [
        { profile: "a", credentials: creds(1) },
        { profile: "b", credentials: creds(2, new Date(Date.now() + 60_000)) },
      ],
      { path, minRemainingSeconds: 900 },
    ).catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.code).toBe("ERR_EXPIRED");
    expect((error as Error).message).toMatch(/^\[b\] writer: refusing/);
    expect(nodeFs.existsSync(path)).toBe(false);
  });

  it("names the profile whose credentials it cannot write, and writes nothing", async () => {
    const path = join(dir, "credentials");
    const error = await writeProfiles(
      [
        { profile: "a", credentials: creds(1) },
        { profile: "b", credentials: { ...creds(2), secretAccessKey: "has space" } },
      ],
      { path },
    ).catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.code).toBe("ERR_CONFIG");
    expect((error as Error).message).toMatch(/^\[b\] writer: credentials\.secretAccessKey must be/);
    expect(nodeFs.existsSync(path)).toBe(false);
  });

  it("refuses a profile named twice", async () => {
    await expect(
      writeProfiles(
        [
          { profile: "a", credentials: creds(1) },
          { profile: "a", credentials: creds(2) },
        ],
        { path: join(dir, "credentials") },
      ),
    ).rejects.toThrow(/named twice/);
  });
});
