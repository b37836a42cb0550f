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
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCredentialsFileError } from "./errors.js";
import { fsError, hookedFs } from "./internal/hooked-fs.js";
import { readSections } from "./internal/ini-merge.js";
import { EXPIRATION_KEY, writeCredentials } from "./write-credentials.js";

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
    expect(result).toEqual({ path, profile: "default", changed: true });
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

  it.runIf(process.geteuid?.() === 0)(
    "gives the file and the directories it creates to the owner (as root)",
    async () => {
      const path = join(dir, "harbor", ".aws", "credentials");
      await mkdir(join(dir, "harbor"));
      await writeCredentials(creds(1), { path, owner: "10000:10001" });
      for (const p of [path, join(dir, "harbor", ".aws")]) {
        const st = await stat(p);
        expect([st.uid, st.gid]).toEqual([10000, 10001]);
      }
      expect((await stat(join(dir, "harbor"))).uid).toBe(0);
      // Rewritten without the option, the file stays the application's.
      await writeCredentials(creds(2), { path });
      expect((await stat(path)).uid).toBe(10000);
    },
  );

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
