import { existsSync, mkdirSync, rmdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isCredbridgeError, refreshing } from "@credbridge/core";
import { manualRuntime } from "@credbridge/core/testing";
import type { AwsCredentialIdentity } from "@smithy/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type FsPoint, fsError, hookedFs } from "./internal/hooked-fs.spec.helper.js";
import { readSections } from "./internal/ini-merge.js";
import { startRefresher } from "./refresher.js";
import type { RefresherEvent, RefresherHandle, StartRefresherOptions } from "./refresher-types.js";

const MIN = 60_000;

/** vi.waitFor with room for a loaded machine. */
const eventually = <T>(check: () => T | Promise<T>) => vi.waitFor(check, { timeout: 5_000, interval: 10 });

const recordingLogger = () => {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: unknown) => void lines.push({ level, message: String(message) });
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
};

/** Numbered credentials living an hour on the fake clock. */
const counter = (now: () => number) => {
  let calls = 0;
  const source = async (): Promise<AwsCredentialIdentity> => {
    calls++;
    return {
      accessKeyId: `ASIAKEY${calls}ABCD`,
      secretAccessKey: `secret-${calls}`,
      sessionToken: `token-${calls}`,
      expiration: new Date(now() + 60 * MIN),
    };
  };
  return { source, calls: () => calls };
};

/** A file system whose failures the test switches on and off. */
const switchableFs = () => {
  const state: { fail?: { point: FsPoint; code: string } | undefined } = {};
  const fs = hookedFs((point) => {
    if (state.fail?.point === point) throw fsError(state.fail.code);
  });
  return { fs, state };
};

let dir: string;
let path: string;
let handle: RefresherHandle | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-refresher-"));
  path = join(dir, "credentials");
});
afterEach(async () => {
  await handle?.stop();
  handle = undefined;
  await rm(dir, { recursive: true, force: true });
});

const fileKey = async (profile = "default") =>
  readSections(await readFile(path, "utf8")).get(profile)?.aws_access_key_id;

describe("startRefresher", () => {
  it("writes once the first credentials arrive, then each time the engine refreshes them", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const src = counter(fake.now);
    const events: RefresherEvent[] = [];
    handle = startRefresher(src.source, {
      path,
      profile: "app",
      runtime: fake.runtime,
      refresh: { jitterSeconds: 0 },
      observer: (e) => events.push(e),
    });
    await handle.ready();
    expect(await fileKey("app")).toBe("ASIAKEY1ABCD");
    const first = handle.status();
    expect(first).toMatchObject({
      path,
      profile: "app",
      writes: 1,
      failures: 0,
      healthy: true,
      stopped: false,
    });
    expect(first.expirationWritten?.getTime()).toBe(fake.now() + 60 * MIN);

    await fake.advance(44 * MIN);
    expect(src.calls()).toBe(1);
    await fake.advance(2 * MIN);
    await eventually(() => expect(handle?.status().writes).toBe(2));
    expect(await fileKey("app")).toBe("ASIAKEY2ABCD");
    expect(events.map((e) => e.type)).toEqual(["write-success", "write-success"]);
  });

  it("writes what an already warm refreshing provider holds, without fetching again", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const src = counter(fake.now);
    const engine = refreshing(src.source, { runtime: fake.runtime });
    await engine();
    handle = startRefresher(engine, { path, runtime: fake.runtime });
    await handle.ready();
    expect(src.calls()).toBe(1);
    expect(await fileKey()).toBe("ASIAKEY1ABCD");
    expect(handle.engine).toBe(engine);
    // The engine belongs to its caller: it keeps refreshing after the refresher stops.
    await handle.stop();
    await fake.advance(46 * MIN);
    expect(src.calls()).toBe(2);
    expect(await fileKey()).toBe("ASIAKEY1ABCD");
    engine.stop();
  });

  it("retries a failing write with growing backoff and recovers; the loop survives", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const src = counter(fake.now);
    const { fs, state } = switchableFs();
    const { logger, lines } = recordingLogger();
    state.fail = { point: "rename", code: "ENOSPC" };
    handle = startRefresher(src.source, { path, fs, logger, runtime: fake.runtime });
    for (const failures of [1, 2, 3]) {
      await eventually(() => expect(handle?.status().failures).toBe(failures));
      await eventually(() => expect(fake.sleeps.length).toBe(failures));
      if (failures < 3) await fake.advance(fake.sleeps.at(-1) ?? 0);
    }
    // Equal jitter with random 0.5: three quarters of 1 s, 2 s, 4 s.
    expect(fake.sleeps).toEqual([750, 1_500, 3_000]);
    const status = handle.status();
    expect(status).toMatchObject({ writes: 0, consecutiveFailures: 3, healthy: false });
    expect(status.lastError).toMatchObject({ code: "ERR_WRITE" });
    expect(status.lastError?.message).toContain(path);
    expect(lines.filter((l) => l.level === "error")).toHaveLength(3);

    state.fail = undefined;
    await fake.advance(3_000);
    await eventually(() => expect(handle?.status().writes).toBe(1));
    expect(handle.status()).toMatchObject({ consecutiveFailures: 0, failures: 3, healthy: true });
    expect(await fileKey()).toBe("ASIAKEY1ABCD");
  });

  it("logs an error when the file is left holding expired credentials", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const src = counter(fake.now);
    const { fs, state } = switchableFs();
    const { logger, lines } = recordingLogger();
    const events: RefresherEvent[] = [];
    handle = startRefresher(src.source, {
      path,
      fs,
      logger,
      runtime: fake.runtime,
      refresh: { jitterSeconds: 0 },
      retry: { initialDelayMs: 10 * MIN, maxDelayMs: 10 * MIN },
      observer: (e) => events.push(e),
    });
    await handle.ready();
    const expiration = handle.status().expirationWritten;
    state.fail = { point: "open-temp", code: "EROFS" };

    await fake.advance(45 * MIN); // the engine refreshes; the write fails, retried in 7.5 min
    await eventually(() => expect(handle?.status().failures).toBe(1));
    expect(lines.at(-1)).toMatchObject({ level: "warn" });
    await fake.advance(8 * MIN); // fails again; the next retry would come after the expiry
    await eventually(() => expect(handle?.status().failures).toBe(2));
    expect(lines.at(-1)?.level).toBe("error");
    expect(lines.at(-1)?.message).toMatch(/left holding credentials that expire/);

    await fake.advance(7 * MIN + 1);
    expect(events.some((e) => e.type === "file-expired")).toBe(true);
    expect(
      lines.some((l) => l.level === "error" && /now holds credentials that expired/.test(l.message)),
    ).toBe(true);
    expect(handle.status()).toMatchObject({ healthy: false, expirationWritten: expiration });
    expect(await fileKey()).toBe("ASIAKEY1ABCD");

    state.fail = undefined;
    await fake.advance(10 * MIN);
    await eventually(() => expect(handle?.status().healthy).toBe(true));
    expect(await fileKey()).toBe("ASIAKEY2ABCD");
  });

  it("never writes credentials inside the margin: a retry that comes too late waits for new ones instead", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    // 100 s sessions; every output keeps 30 s; after the first, the engine's refreshes fail (STS down).
    let calls = 0;
    const source = async (): Promise<AwsCredentialIdentity> => {
      calls++;
      if (calls > 1) throw new Error("sts down");
      return {
        accessKeyId: "ASIAKEY1ABCD",
        secretAccessKey: "secret-1",
        sessionToken: "token-1",
        expiration: new Date(fake.now() + 100_000),
      };
    };
    const { fs, state } = switchableFs();
    const { logger, lines } = recordingLogger();
    state.fail = { point: "rename", code: "ENOSPC" };
    handle = startRefresher(source, {
      path,
      fs,
      logger,
      runtime: fake.runtime,
      minRemainingSeconds: 30,
      refresh: { minRemainingSeconds: 30, mandatoryWindowSeconds: 40, advisoryWindowSeconds: 50 },
      // The retry comes 75 s later (equal jitter, random 0.5): 25 s before expiry, inside the margin.
      retry: { initialDelayMs: 100_000, maxDelayMs: 100_000 },
    });
    await eventually(() => expect(handle?.status().failures).toBe(1));
    expect(fake.sleeps).toEqual([75_000]);
    state.fail = undefined;
    await fake.advance(75_000);
    await eventually(() => expect(handle?.status().failures).toBe(2));
    expect(handle.status()).toMatchObject({ writes: 0, lastError: { code: "ERR_EXPIRED" } });
    expect(handle.status().lastError?.message).toMatch(
      /25 s from now, less than the 30 s every output keeps/,
    );
    expect(lines.at(-1)?.message).toMatch(/waiting for new credentials from the refresh engine/);
    // No further retry of those credentials, and the file never held them.
    await fake.advance(60_000);
    expect(handle.status()).toMatchObject({ writes: 0, failures: 2 });
    await expect(readFile(path, "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("reports a file left expired after a suspend within seconds of resuming, not when the old timer fires", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const src = counter(fake.now);
    const events: RefresherEvent[] = [];
    const engine = refreshing(src.source, { runtime: fake.runtime });
    await engine();
    // An engine that does not refresh (its owner never started it): only the watchdog watches.
    handle = startRefresher(engine, { path, runtime: fake.runtime, observer: (e) => events.push(e) });
    await handle.ready();
    engine.stop();
    fake.jump(2 * 60 * MIN);
    await fake.advance(10_000);
    expect(events.map((e) => e.type)).toContain("file-expired");
    expect(handle.status().healthy).toBe(false);
  });

  it("stop() waits for the write in flight, then stops refreshing", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const src = counter(fake.now);
    // Another writer holds the lock: the first write waits for it.
    mkdirSync(`${path}.lock`);
    const h = startRefresher(src.source, { path, runtime: fake.runtime });
    await eventually(() => expect(h.status().writing).toBe(true));
    let stopped = false;
    const stopping = h.stop().then(() => {
      stopped = true;
    });
    await fake.advance(1_000);
    expect(stopped).toBe(false);
    rmdirSync(`${path}.lock`);
    // Each lock poll is real I/O before its next (fake) sleep: advance until the write gets in.
    await eventually(async () => {
      await fake.advance(100);
      expect(stopped).toBe(true);
    });
    await stopping;
    expect(await fileKey()).toBe("ASIAKEY1ABCD");
    expect(h.status()).toMatchObject({ stopped: true, writing: false, writes: 1, healthy: false });
    await fake.advance(120 * MIN);
    expect(src.calls()).toBe(1);
  });

  it("is not healthy once the file's credentials are inside the margin, though not yet expired (writes failing meanwhile)", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const src = counter(fake.now);
    const engine = refreshing(src.source, { runtime: fake.runtime });
    await engine();
    handle = startRefresher(engine, { path, runtime: fake.runtime, minRemainingSeconds: 600 });
    await handle.ready();
    engine.stop();
    expect(handle.status()).toMatchObject({ healthy: true, minRemainingSeconds: 600 });
    // Nothing renews the file (another writer's lock, a full disk): 49 minutes on, 11 are left.
    fake.jump(49 * MIN);
    expect(handle.status().healthy).toBe(true);
    // At 51, 9 are left: IMDS would no longer serve them, and the file is no better.
    fake.jump(2 * MIN);
    expect(handle.status().healthy).toBe(false);
  });

  it("stop({ signal }) gives up a removal waiting for the lock when the signal aborts: says the profile is still there, leaves no queue ticket", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const src = counter(fake.now);
    const h = startRefresher(src.source, { path, runtime: fake.runtime, removeOnStop: true });
    await h.ready();
    // A dead writer's lock, which a waiter would take over only after its stale period.
    mkdirSync(`${path}.lock/4190000-deadbeef0000`, { recursive: true });
    const budget = new AbortController();
    let outcome: unknown;
    const stopping = h.stop({ signal: budget.signal }).then((o) => {
      outcome = o;
    });
    await eventually(async () => {
      await fake.advance(10);
      expect(existsSync(`${path}.lock.q`)).toBe(true);
    });
    budget.abort("shutdown budget");
    await eventually(async () => {
      await fake.advance(10);
      expect(outcome).toEqual({ profileRemoved: false });
    });
    await stopping;
    expect(existsSync(`${path}.lock.q`)).toBe(false);
    expect(await fileKey()).toBe("ASIAKEY1ABCD");
    expect(h.status().lastError?.code).toBe("ERR_ABORTED");
  });

  it("removes its profile on stop when asked, and rejects ready() after stop", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const src = counter(fake.now);
    const h = startRefresher(src.source, { path, profile: "app", runtime: fake.runtime, removeOnStop: true });
    await h.ready();
    await h.stop();
    expect(readSections(await readFile(path, "utf8")).has("app")).toBe(false);
    await expect(h.ready()).resolves.toBeUndefined();
    const never = startRefresher(async () => new Promise<AwsCredentialIdentity>(() => {}), { path });
    const waiting = never.ready();
    await never.stop();
    await expect(waiting).rejects.toThrow(/stopped before its first write/);
  });

  it("keeps secrets out of its status and logs", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const src = counter(fake.now);
    const { logger, lines } = recordingLogger();
    handle = startRefresher(src.source, { path, logger, runtime: fake.runtime });
    await handle.ready();
    const seen = JSON.stringify(handle.status()) + JSON.stringify(lines);
    expect(seen).not.toMatch(/secret-1|token-1|ASIAKEY1ABCD/);
  });

  it("throws ERR_CONFIG at once for invalid options", () => {
    const error = (() => {
      try {
        startRefresher(async () => ({ accessKeyId: "a", secretAccessKey: "b" }), { profile: "bad name" });
      } catch (e) {
        return e;
      }
    })();
    expect(isCredbridgeError(error) && error.code).toBe("ERR_CONFIG");
  });
});

describe("startRefresher with several profiles", () => {
  /** Numbered credentials under `prefix`, failing while `failing` is set. */
  const named = (now: () => number, prefix: string) => {
    let calls = 0;
    const state = { failing: false };
    const source = async (): Promise<AwsCredentialIdentity> => {
      calls++;
      if (state.failing) throw new Error(`${prefix} upstream down`);
      return {
        accessKeyId: `ASIA${prefix}${calls}ABCD`,
        secretAccessKey: `secret-${prefix}-${calls}`,
        sessionToken: `token-${prefix}-${calls}`,
        expiration: new Date(now() + 60 * MIN),
      };
    };
    return { source, state, calls: () => calls };
  };

  /**
   * `handle` writing `reader` (its own engine) and `writer` (an engine of the
   * test's, `writerEngine`) into one file; `writerFailing` fails the writer
   * from its first call.
   */
  const readerAndWriter = (
    fake: ReturnType<typeof manualRuntime>,
    options: Omit<StartRefresherOptions, "profiles"> & { writerFailing?: boolean } = {},
  ) => {
    const { writerFailing = false, ...rest } = options;
    const reader = named(fake.now, "READ");
    const writer = named(fake.now, "WRITE");
    writer.state.failing = writerFailing;
    const writerEngine = refreshing(writer.source, {
      runtime: fake.runtime,
      jitterSeconds: 0,
      ...(rest.minRemainingSeconds === undefined ? {} : { minRemainingSeconds: rest.minRemainingSeconds }),
    });
    const refresher = startRefresher(reader.source, {
      path,
      profile: "reader",
      profiles: [{ profile: "writer", provider: writerEngine }],
      runtime: fake.runtime,
      refresh: { jitterSeconds: 0 },
      ...rest,
    });
    handle = refresher;
    return { reader, writer, writerEngine, refresher };
  };

  it("keeps one section per profile in one file, each from its own engine, every other byte kept", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const reader = named(fake.now, "READ");
    const writer = named(fake.now, "WRITE");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path, "# mine\n[other]\naws_access_key_id = AKIAOTHER\n");
    handle = startRefresher(reader.source, {
      path,
      profile: "reader",
      profiles: [{ profile: "writer", provider: writer.source }],
      runtime: fake.runtime,
      refresh: { jitterSeconds: 0 },
    });
    await handle.ready();
    expect(await fileKey("reader")).toBe("ASIAREAD1ABCD");
    expect(await fileKey("writer")).toBe("ASIAWRITE1ABCD");
    expect(await fileKey("other")).toBe("AKIAOTHER");
    expect((await readFile(path, "utf8")).startsWith("# mine\n")).toBe(true);
    expect(handle.status().profiles.map((p) => [p.profile, p.healthy])).toEqual([
      ["reader", true],
      ["writer", true],
    ]);
    // Both refresh together: their credentials go out in one locked write, never one torn by the other.
    const before = handle.status().writes;
    await fake.advance(46 * MIN);
    await eventually(async () => expect(await fileKey("writer")).toBe("ASIAWRITE2ABCD"));
    expect(await fileKey("reader")).toBe("ASIAREAD2ABCD");
    expect(handle.status().writes - before).toBeLessThanOrEqual(2);
  });

  it("a failing profile keeps its last section and turns unhealthy by name; the other goes on being written", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const { writer, writerEngine, refresher } = readerAndWriter(fake, { minRemainingSeconds: 600 });
    await refresher.ready();
    writer.state.failing = true;
    await fake.advance(46 * MIN);
    await eventually(async () => expect(await fileKey("reader")).toBe("ASIAREAD2ABCD"));
    // The failing profile's section is the one last written, whole.
    const sections = readSections(await readFile(path, "utf8"));
    expect(sections.get("writer")).toMatchObject({
      aws_access_key_id: "ASIAWRITE1ABCD",
      aws_secret_access_key: "secret-WRITE-1",
      aws_session_token: "token-WRITE-1",
    });
    // Inside the margin the writer profile is no longer healthy, named; the reader still is.
    await fake.advance(5 * MIN);
    const status = refresher.status();
    expect(status.healthy).toBe(false);
    expect(status.profiles.find((p) => p.profile === "reader")?.healthy).toBe(true);
    expect(status.profiles.find((p) => p.profile === "writer")?.healthy).toBe(false);
    writerEngine.stop();
  });

  it("with removeExpired, drops a failing profile's section once its credentials expire, and only that one", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const { logger, lines } = recordingLogger();
    const { writer, writerEngine, refresher } = readerAndWriter(fake, { removeExpired: true, logger });
    await refresher.ready();
    writer.state.failing = true;
    await fake.advance(46 * MIN);
    await eventually(async () => expect(await fileKey("reader")).toBe("ASIAREAD2ABCD"));
    expect(await fileKey("writer")).toBe("ASIAWRITE1ABCD");
    // Past the writer's expiry: its section goes, the reader's stays.
    await fake.advance(15 * MIN);
    await eventually(async () => expect(await fileKey("writer")).toBeUndefined());
    expect(await fileKey("reader")).toBe("ASIAREAD2ABCD");
    expect(refresher.status().profiles.find((p) => p.profile === "writer")).toMatchObject({
      healthy: false,
      lastWriteAt: undefined,
      lastError: { code: "ERR_EXPIRED" },
    });
    expect(lines.some((l) => l.level === "error" && /removed \[writer\]/.test(l.message))).toBe(true);
    // The chain recovers: the section is written again.
    writer.state.failing = false;
    await fake.advance(2 * MIN);
    await eventually(async () => expect(await fileKey("writer")).toMatch(/^ASIAWRITE\d+ABCD$/));
    writerEngine.stop();
  });

  it("with removeExpired, drops a section a previous process left once it expires, when its chain never recovers", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const { writeFile } = await import("node:fs/promises");
    // Left by the process before a restart: expiring in 20 minutes, and a section of someone else's.
    const left = new Date(fake.now() + 20 * MIN).toISOString().replace(/\.\d{3}Z$/, "Z");
    await writeFile(
      path,
      `[other]\naws_access_key_id = AKIAOTHER\n[writer]\naws_access_key_id = ASIAOLDABCD\naws_secret_access_key = s\nx_security_token_expires = ${left}\n`,
    );
    const events: RefresherEvent[] = [];
    const { writerEngine, refresher } = readerAndWriter(fake, {
      writerFailing: true,
      removeExpired: true,
      observer: (e) => events.push(e),
    });
    await eventually(async () => expect(await fileKey("reader")).toBe("ASIAREAD1ABCD"));
    await eventually(() =>
      expect(refresher.status().profiles[1]?.expirationWritten?.toISOString()).toBe(
        new Date(Date.parse(left)).toISOString(),
      ),
    );
    expect(await fileKey("writer")).toBe("ASIAOLDABCD");
    expect(refresher.status().profiles[1]?.healthy).toBe(false);
    await fake.advance(21 * MIN);
    await eventually(async () => expect(await fileKey("writer")).toBeUndefined());
    expect(await fileKey("other")).toBe("AKIAOTHER");
    expect(await fileKey("reader")).toMatch(/^ASIAREAD\d+ABCD$/);
    expect(events.some((e) => e.type === "file-expired" && e.profile === "writer")).toBe(true);
    writerEngine.stop();
  });

  it("keeps a section left by a previous process that another writer renewed before it expired", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const { writeFile } = await import("node:fs/promises");
    const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
    const section = (key: string, at: number) =>
      `[writer]\naws_access_key_id = ${key}\naws_secret_access_key = s\nx_security_token_expires = ${stamp(at)}\n`;
    await writeFile(path, section("ASIAOLDABCD", fake.now() + 20 * MIN));
    const { writerEngine, refresher } = readerAndWriter(fake, { writerFailing: true, removeExpired: true });
    await eventually(() => expect(refresher.status().profiles[1]?.expirationWritten).toBeDefined());
    await eventually(async () => expect(await fileKey("reader")).toBe("ASIAREAD1ABCD"));
    // Another writer renews the section meanwhile (keeping the reader's).
    const text = await readFile(path, "utf8");
    await writeFile(path, text.replace(/\[writer\][^[]*/, section("ASIARENEWEDABCD", fake.now() + 60 * MIN)));
    await fake.advance(21 * MIN);
    await eventually(() => expect(refresher.status().profiles[1]?.lastError?.code).toBe("ERR_EXPIRED"));
    expect(await fileKey("writer")).toBe("ASIARENEWEDABCD");
    writerEngine.stop();
  });

  it("one profile's unwritable credentials hold back no other profile, and are refused against that profile alone", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const poison = async (): Promise<AwsCredentialIdentity> => ({
      accessKeyId: "ASIAPOISONABCD",
      secretAccessKey: "has space",
      sessionToken: "t",
      expiration: new Date(fake.now() + 60 * MIN),
    });
    const events: RefresherEvent[] = [];
    handle = startRefresher(named(fake.now, "READ").source, {
      path,
      profile: "reader",
      profiles: [
        { profile: "writer", provider: named(fake.now, "WRITE").source },
        { profile: "poison", provider: poison },
      ],
      runtime: fake.runtime,
      refresh: { jitterSeconds: 0 },
      observer: (e) => events.push(e),
    });
    await eventually(async () => {
      expect(await fileKey("reader")).toBe("ASIAREAD1ABCD");
      expect(await fileKey("writer")).toBe("ASIAWRITE1ABCD");
    });
    expect(await fileKey("poison")).toBeUndefined();
    const byName = Object.fromEntries(handle.status().profiles.map((p) => [p.profile, p]));
    expect(byName.reader?.lastError).toBeUndefined();
    expect(byName.writer?.lastError).toBeUndefined();
    expect(byName.poison?.lastError?.message).toMatch(/secretAccessKey must be a non-empty string/);
    expect(byName.poison?.lastError?.message).not.toContain("has space");
    const failures = events.filter((e) => e.type === "write-failure");
    expect(failures.map((e) => e.profile)).toEqual(["poison"]);
    // Not retried as they are: they wait for new credentials from the engine.
    expect(failures[0]).toMatchObject({ retryAt: undefined });
    await fake.advance(5 * MIN);
    expect(events.filter((e) => e.type === "write-failure")).toHaveLength(1);
  });

  it("removes every profile in one write on stop with removeOnStop, keeping other sections", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path, "[other]\naws_access_key_id = AKIAOTHER\n");
    const h = startRefresher(named(fake.now, "READ").source, {
      path,
      profile: "reader",
      profiles: [{ profile: "writer", provider: named(fake.now, "WRITE").source }],
      runtime: fake.runtime,
      removeOnStop: true,
    });
    await h.ready();
    expect(await h.stop()).toEqual({ profileRemoved: true });
    expect([...readSections(await readFile(path, "utf8")).keys()]).toEqual(["other"]);
  });

  it("a profile entering the margin under the lock waits for new credentials; the others are written at once", async () => {
    const fake = manualRuntime({ sleep: "timers" });
    let opens = 0;
    const fs = hookedFs((point) => {
      // The first write carries the main profile alone; the other two arrive meanwhile and go
      // together in the second, during which eleven minutes pass (a stalled process).
      if (point === "open-temp" && ++opens === 2) fake.jump(11 * MIN);
    });
    const long = async (): Promise<AwsCredentialIdentity> => ({
      accessKeyId: "ASIALONGABCD",
      secretAccessKey: "s",
      expiration: new Date(fake.now() + 60 * MIN),
    });
    // 20 minutes left at first: outside the 10-minute margin, inside it after the stall.
    const short = async (): Promise<AwsCredentialIdentity> => ({
      accessKeyId: "ASIASHORTABCD",
      secretAccessKey: "s",
      expiration: new Date(fake.now() + 20 * MIN),
    });
    const longEngine = refreshing(long, { runtime: fake.runtime });
    const otherEngine = refreshing(long, { runtime: fake.runtime });
    const shortEngine = refreshing(short, { runtime: fake.runtime, minRemainingSeconds: 0 });
    await Promise.all([longEngine(), otherEngine(), shortEngine()]);
    const { logger, lines } = recordingLogger();
    handle = startRefresher(longEngine, {
      path,
      profile: "long",
      profiles: [
        { profile: "other", provider: otherEngine },
        { profile: "short", provider: shortEngine },
      ],
      runtime: fake.runtime,
      minRemainingSeconds: 600,
      fs,
      logger,
    });
    await eventually(async () => expect(await fileKey("other")).toBe("ASIALONGABCD"));
    expect(await fileKey("long")).toBe("ASIALONGABCD");
    expect(await fileKey("short")).toBeUndefined();
    expect(opens).toBe(3);
    expect(handle.status().profiles.find((p) => p.profile === "short")?.lastError?.message).toMatch(
      /^\[short\] writer: refusing/,
    );
    expect(lines.some((l) => /writing .* \[short\] failed/.test(l.message))).toBe(true);
    longEngine.stop();
    otherEngine.stop();
    shortEngine.stop();
  });

  it("refuses a profile named twice", () => {
    expect(() =>
      startRefresher(async () => ({ accessKeyId: "a", secretAccessKey: "b" }), {
        path,
        profile: "a",
        profiles: [{ profile: "a", provider: async () => ({ accessKeyId: "a", secretAccessKey: "b" }) }],
      }),
    ).toThrow(/profile a is given twice/);
  });
});
