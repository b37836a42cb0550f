import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeCredentials } from "@credbridge/writer";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
// @ts-expect-error: a plain .mjs fixture without types
import { checkProfile, credsFor, parseStrict } from "./fixtures/creds.mjs";
import { forkFixture, isStopped, killFixtures, lastJsonLine } from "./helpers.js";

/**
 * The smallest stale period. A waiter judges staleness only by what it saw
 * itself (the lock unchanged for this long on its own clock), so writer 2
 * really waits it out: no file time can shorten it.
 */
const STALE_MS = 2_000;

// SIGKILL ends a stopped fixture too.
afterEach(killFixtures);

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-stall-"));
  path = join(dir, "credentials");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts the fixture and resolves once the kernel reports it stopped inside its critical section. */
const stoppedWriter = async (writer: number, where: "before-temp" | "before-rename" | "after-rename") => {
  const f = forkFixture("stop-in-lock.mjs", [path, String(writer), where, String(STALE_MS)]);
  const pid = f.child.pid;
  if (pid === undefined) throw new Error("the writer fixture did not start");
  await new Promise<void>((resolve, reject) => {
    f.child.stdout?.on("data", (d) => String(d).includes("stopping") && resolve());
    f.child.once("exit", (code) => reject(new Error(`writer ${writer} exited (${code}) before stopping`)));
  });
  await vi.waitFor(async () => expect(await isStopped(pid)).toBe(true), { timeout: 10_000, interval: 5 });
  return f;
};

const sharedWriter = async () => {
  const sections: Map<string, Record<string, string>> = parseStrict(await readFile(path, "utf8"));
  return checkProfile("shared", sections.get("shared")).writer as number;
};

describe("a writer stopped (SIGSTOP) past the stale time while holding the lock", () => {
  // before-temp: merged, its temp file not yet created; before-rename: temp file written and synced.
  it.each(["before-temp", "before-rename"] as const)(
    "stopped %s: on resuming neither puts its older content over the newer file nor removes the other writer's lock",
    async (where) => {
      await writeCredentials(credsFor(0, 0), { path, profile: "shared" });

      // Writer 1 stops inside its critical section.
      const first = await stoppedWriter(1, where);
      // Writer 2 watches the lock stay unchanged for the stale time, takes it over,
      // replaces the file, and stops before releasing.
      const second = await stoppedWriter(2, "after-rename");
      expect(await sharedWriter()).toBe(2);
      const secondsLock = (await stat(`${path}.lock`)).ino;

      // Writer 1 wakes: its rename must fail, and it must leave writer 2's lock alone.
      first.child.kill("SIGCONT");
      const resumed = await first.exited;
      expect(resumed.code).toBe(0);
      expect(lastJsonLine(resumed.stdout)).toMatchObject({ ok: false, code: "ERR_LOCKED" });
      expect(lastJsonLine(resumed.stdout).message).toMatch(/another writer took the lock over/);
      expect(await sharedWriter()).toBe(2);
      expect(existsSync(`${path}.lock`)).toBe(true);
      expect((await stat(`${path}.lock`)).ino).toBe(secondsLock);

      // Writer 2 wakes and releases its own lock.
      second.child.kill("SIGCONT");
      const done = await second.exited;
      expect(lastJsonLine(done.stdout)).toEqual({ ok: true });
      expect(existsSync(`${path}.lock`)).toBe(false);
      expect(await readdir(dir)).toEqual(["credentials"]);
      expect(await sharedWriter()).toBe(2);
    },
  );
});

describe("a writer stopped (SIGSTOP) while it waits for the lock, and another writer's newer credentials meanwhile", () => {
  it("on resuming it keeps the newer credentials rather than put its own, which expire sooner, over them", async () => {
    await writeCredentials(credsFor(0, 0), { path, profile: "shared" });
    // A holder, frozen in its critical section, makes the next writer wait.
    const holder = await stoppedWriter(1, "before-rename");
    // Writer A (credentials for an hour) queues for the lock; then it is frozen too.
    const a = forkFixture("write-expiring.mjs", [path, "2", "3600", "10000"]);
    await vi.waitFor(() => expect(existsSync(`${path}.lock.q`)).toBe(true), { timeout: 10_000, interval: 5 });
    a.child.kill("SIGSTOP");
    await vi.waitFor(async () => expect(await isStopped(a.child.pid ?? 0)).toBe(true), {
      timeout: 10_000,
      interval: 5,
    });
    holder.child.kill("SIGCONT");
    expect(lastJsonLine((await holder.exited).stdout)).toEqual({ ok: true });

    // Writer B gets credentials for six hours and writes them while A is frozen.
    const b = forkFixture("write-expiring.mjs", [path, "3", String(6 * 3600), "10000"]);
    expect(lastJsonLine((await b.exited).stdout)).toMatchObject({ ok: true, changed: true });
    expect(await sharedWriter()).toBe(3);

    a.child.kill("SIGCONT");
    const resumed = lastJsonLine((await a.exited).stdout);
    expect(resumed).toMatchObject({ ok: true, changed: false });
    expect(Date.parse(resumed.expiration) - Date.now()).toBeGreaterThan(5 * 3_600_000);
    expect(await sharedWriter()).toBe(3);
    expect(await readdir(dir)).toEqual(["credentials"]);
  });
});
