import { spawn } from "node:child_process";
import { once } from "node:events";
import * as nodeFs from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { fromIni } from "@aws-sdk/credential-provider-ini";
import {
  isCredentialsFileError,
  type RefresherEvent,
  startRefresher,
  type WriterFs,
  writeCredentials,
} from "@credbridge/writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { idle, manualClock, memoryLogger, until } from "./support.js";

type Point = "mkdir" | "open-temp" | "write" | "sync" | "rename";

/**
 * The real file system with a system error injected at one point of an update,
 * for the first `times` updates. A failing write first writes half the data, as
 * a disk that fills up mid-write does.
 */
const failingFs = (point: Point, code: string, times = Number.POSITIVE_INFINITY, armed = true) => {
  let hits = 0;
  const temps = new Set<number>();
  const fail = (p: Point, path: string) => {
    if (!armed || p !== point || hits >= times) return;
    hits++;
    throw Object.assign(new Error(`${code}: injected, '${path}'`), { code });
  };
  const fs: WriterFs = {
    ...nodeFs,
    mkdirSync: ((path: string, options: nodeFs.MakeDirectoryOptions) => {
      fail("mkdir", path);
      return nodeFs.mkdirSync(path, options);
    }) as WriterFs["mkdirSync"],
    openSync: ((path: string, flags: nodeFs.OpenMode, mode?: nodeFs.Mode) => {
      if (flags === "wx") fail("open-temp", path);
      const fd = nodeFs.openSync(path, flags, mode);
      if (flags === "wx") temps.add(fd);
      return fd;
    }) as WriterFs["openSync"],
    closeSync: (fd) => {
      temps.delete(fd);
      nodeFs.closeSync(fd);
    },
    writeFileSync: ((fd: number, data: string, encoding: BufferEncoding) => {
      if (temps.has(fd)) {
        try {
          fail("write", String(fd));
        } catch (error) {
          nodeFs.writeFileSync(fd, data.slice(0, Math.floor(data.length / 2)), encoding);
          throw error;
        }
      }
      nodeFs.writeFileSync(fd, data, encoding);
    }) as WriterFs["writeFileSync"],
    fsyncSync: (fd) => {
      if (temps.has(fd)) fail("sync", String(fd));
      nodeFs.fsyncSync(fd);
    },
    renameSync: (from, to) => {
      fail("rename", String(to));
      nodeFs.renameSync(from, to);
    },
  };
  return {
    fs,
    hits: () => hits,
    arm: () => {
      armed = true;
    },
  };
};

const SEED = [
  "[other]",
  "aws_access_key_id = AKIAOTHERPROFILE0001",
  "aws_secret_access_key = other-secret",
  "",
  "[default]",
  "aws_access_key_id = ASIAOLDCREDENTIALS01",
  "aws_secret_access_key = old-secret",
  "aws_session_token = old-token",
  "",
].join("\n");

const creds = (id: string) => ({
  accessKeyId: `ASIA${id.padEnd(16, "0")}`,
  secretAccessKey: `secret-${id}`,
  sessionToken: `token-${id}`,
  expiration: new Date(Date.now() + 3_600_000),
});

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir("credbridge-faults-writer-");
});
afterAll(() => tmp.cleanup());

let n = 0;
/** A fresh directory holding the seed file. */
const seeded = async () => {
  const dir = tmp.path(`case-${n++}`);
  await nodeFs.promises.mkdir(dir);
  const path = `${dir}/credentials`;
  await writeFile(path, SEED, { mode: 0o600 });
  return { dir, path };
};

const readProfile = (path: string, profile: string) =>
  fromIni({ profile, filepath: path, configFilepath: tmp.path("no-config"), ignoreCache: true })();

describe("disk full or read-only volume during a write", () => {
  const cases: { point: Point; code: string; hint: RegExp }[] = [
    { point: "write", code: "ENOSPC", hint: /ENOSPC, the file system is full; free space on the volume/ },
    { point: "sync", code: "ENOSPC", hint: /ENOSPC, the file system is full/ },
    { point: "write", code: "EDQUOT", hint: /EDQUOT, the disk quota is exhausted/ },
    {
      point: "open-temp",
      code: "EROFS",
      hint: /EROFS, the file system is read-only; mount the volume read-write/,
    },
    { point: "rename", code: "EROFS", hint: /EROFS, the file system is read-only/ },
    { point: "write", code: "EIO", hint: /EIO, an I\/O error from the device/ },
  ];

  it.each(cases)(
    "$code at $point: rejected with the fix, the old file byte for byte, no debris, lock released",
    async ({ point, code, hint }) => {
      const { dir, path } = await seeded();
      const failing = failingFs(point, code);
      const error = await writeCredentials(creds("NEW"), {
        path,
        fs: failing.fs,
        lock: { staleMs: 2_000 },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failing.hits()).toBe(1);
      expect(isCredentialsFileError(error)).toBe(true);
      expect(error).toMatchObject({ code: "ERR_WRITE", syscallCode: code, path });
      expect((error as Error).message).toMatch(hint);
      expect((error as Error).message).toContain("The previous file is unchanged.");
      expect((error as Error).message).not.toContain("secret-NEW");

      expect(await readFile(path, "utf8")).toBe(SEED);
      expect(await readdir(dir)).toEqual(["credentials"]); // no temp file, no lock left behind
      expect(await readProfile(path, "default")).toMatchObject({ accessKeyId: "ASIAOLDCREDENTIALS01" });

      // The next write, once the disk is back, goes through at once.
      const started = performance.now();
      await writeCredentials(creds("AFTER"), { path, lock: { staleMs: 2_000 } });
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(await readProfile(path, "default")).toMatchObject({ accessKeyId: creds("AFTER").accessKeyId });
      expect(await readProfile(path, "other")).toMatchObject({ accessKeyId: "AKIAOTHERPROFILE0001" });
    },
  );

  it("a read-only volume where the directory must be created: refused, nothing created", async () => {
    const dir = tmp.path(`case-${n++}`);
    const path = `${dir}/aws/credentials`;
    const failing = failingFs("mkdir", "EROFS");
    await expect(writeCredentials(creds("NEW"), { path, fs: failing.fs })).rejects.toMatchObject({
      code: "ERR_WRITE",
      syscallCode: "EROFS",
      message: expect.stringMatching(/creating the directory .* EROFS, the file system is read-only/),
    });
    expect(nodeFs.existsSync(dir)).toBe(false);
  });

  it("the refresher keeps the old file through three ENOSPC failures, then writes once space is back", async () => {
    const { dir, path } = await seeded();
    const failing = failingFs("write", "ENOSPC", 3);
    const events: RefresherEvent[] = [];
    const seenOnFailure: string[] = [];
    const fresh = creds("REFRESHED");
    const refresher = startRefresher(async () => fresh, {
      path,
      fs: failing.fs,
      lock: { staleMs: 2_000 },
      retry: { initialDelayMs: 20, maxDelayMs: 40 },
      observer: (e) => {
        events.push(e);
        if (e.type === "write-failure") seenOnFailure.push(nodeFs.readFileSync(path, "utf8"));
      },
    });
    try {
      await refresher.ready();
    } finally {
      await refresher.stop();
    }
    expect(events.map((e) => e.type)).toEqual([
      "write-failure",
      "write-failure",
      "write-failure",
      "write-success",
    ]);
    expect(seenOnFailure).toEqual([SEED, SEED, SEED]);
    const failures = events.filter((e) => e.type === "write-failure");
    expect(failures.map((e) => e.consecutiveFailures)).toEqual([1, 2, 3]);
    for (const f of failures) expect(f.retryAt).toBeInstanceOf(Date);
    expect(refresher.status()).toMatchObject({ writes: 1, failures: 3, consecutiveFailures: 0 });
    expect(await readProfile(path, "default")).toMatchObject({
      accessKeyId: fresh.accessKeyId,
      secretAccessKey: fresh.secretAccessKey,
      sessionToken: fresh.sessionToken,
    });
    expect(await readdir(dir)).toEqual(["credentials"]);
  });
});

describe("disk full for longer than the credentials in the file live", () => {
  it("the refresher reports it: error log naming the file and the cause, a file-expired event, unhealthy", async () => {
    const { path } = await seeded();
    const clock = manualClock();
    const failing = failingFs("write", "ENOSPC", Number.POSITIVE_INFINITY, false);
    const log = memoryLogger();
    const events: RefresherEvent[] = [];
    let generation = 0;
    const provider = async () => ({
      ...creds(`GEN${++generation}`),
      expiration: new Date(clock.now() + 3_600_000),
    });
    const refresher = startRefresher(provider, {
      path,
      fs: failing.fs,
      logger: log.logger,
      retry: { initialDelayMs: 1_000, maxDelayMs: 1_000 },
      runtime: { now: clock.now, setTimer: clock.setTimer, random: () => 0.5 },
      observer: (e) => events.push(e),
    });
    const settle = () => idle(refresher.engine);
    try {
      await refresher.ready();
      const written = refresher.status().expirationWritten!;
      const before = await readFile(path, "utf8");
      failing.arm();
      // The engine refreshes in its advisory window; writing the new credentials fails.
      await clock.advanceTo(written.getTime() - 10 * 60_000, settle);
      await until(() => events.some((e) => e.type === "write-failure"), 5_000, "a failed write");
      expect(refresher.status()).toMatchObject({ healthy: true, lastError: { code: "ERR_WRITE" } });

      await clock.advanceTo(written.getTime() + 1_000, settle);
      expect(events).toContainEqual(
        expect.objectContaining({ type: "file-expired", path, expiration: written }),
      );
      expect(refresher.status().healthy).toBe(false);
      const alarm = log.lines.find(
        (l) => l.level === "error" && l.text.includes("now holds credentials that expired"),
      );
      expect(alarm?.text).toContain(path);
      expect(alarm?.text).toMatch(/ENOSPC, the file system is full/);
      expect(await readFile(path, "utf8")).toBe(before); // still whole: the last good write
    } finally {
      await refresher.stop();
    }
  });
});

describe("writer SIGKILLed mid-write", () => {
  it("the old file stays whole; the next writer takes over the dead lock with the temp file in it, and writes", async () => {
    const { dir, path } = await seeded();
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL("./fixtures/write-and-stall.mjs", import.meta.url)), path],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = once(child, "exit");
    try {
      const [chunk] = (await Promise.race([
        once(child.stdout, "data"),
        exited.then(() => {
          throw new Error(`the writer exited before stalling: ${stderr}`);
        }),
      ])) as [Buffer];
      expect(chunk.toString()).toBe("stalled\n");
    } finally {
      child.kill("SIGKILL");
    }
    expect(await exited).toEqual([null, "SIGKILL"]);

    // What the dead writer left: a half-written temp file and its lock; the target untouched.
    expect((await readdir(dir)).sort()).toEqual(["credentials", "credentials.lock"]);
    const [holder] = await readdir(`${path}.lock`);
    const half = await readFile(`${path}.lock/${holder}/credentials.tmp`, "utf8");
    expect(half.length).toBeGreaterThan(0);
    expect(half).not.toContain("killed-token");
    expect(await readFile(path, "utf8")).toBe(SEED);
    expect(await readProfile(path, "default")).toMatchObject({ accessKeyId: "ASIAOLDCREDENTIALS01" });

    const started = performance.now();
    await writeCredentials(creds("NEXT"), { path, lock: { staleMs: 2_000 } });
    const waited = performance.now() - started;
    console.log(`SIGKILL mid-write: the next writer took over the dead lock after ${Math.round(waited)} ms`);
    expect(waited).toBeLessThan(4_500); // the stale timeout (2 s) and some slack, never the lock's timeout
    expect(await readdir(dir)).toEqual(["credentials"]);
    expect(await readProfile(path, "default")).toMatchObject({ accessKeyId: creds("NEXT").accessKeyId });
    expect(await readProfile(path, "other")).toMatchObject({ accessKeyId: "AKIAOTHERPROFILE0001" });
  });
});
