import { execFileSync } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RefreshState, refreshing } from "@credbridge/core";
import { manualRuntime } from "@credbridge/core/testing";
import type { RefresherStatus } from "@credbridge/writer";
import type { AwsCredentialIdentity } from "@smithy/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineLiveness, fileReadiness, tokenFileReadiness } from "./probes.js";

const MIN = 60_000;

const state = (fields: Partial<RefreshState>): RefreshState =>
  ({
    status: "fresh",
    refreshing: false,
    refreshingForMs: undefined,
    attemptTimeoutMs: 60_000,
    abandonedAttempts: 0,
    started: true,
    timerLateMs: 0,
    ...fields,
  }) as RefreshState;

/** The engine's timers stop running: nothing armed ever fires, while the clocks go on. */
const brokenTimers = () => {
  const fake = manualRuntime();
  return { fake, runtime: { ...fake.runtime, setTimer: () => ({ cancel: () => {} }) } };
};

const credentials = (now: number): AwsCredentialIdentity => ({
  accessKeyId: "ASIAPROBE0001",
  secretAccessKey: "s",
  sessionToken: "t",
  expiration: new Date(now + 60 * MIN),
});

describe("engineLiveness", () => {
  it.each<[string, Partial<RefreshState>, RegExp | undefined]>([
    ["idle and fresh", {}, undefined],
    ["an attempt within its deadline and the slack", { refreshingForMs: 89_000 }, undefined],
    [
      "an attempt past its deadline and the slack",
      { refreshingForMs: 91_000 },
      /attempt has run 91 s, past its 60 s deadline/,
    ],
    ["its timer a little late (a loaded host)", { timerLateMs: 29_000 }, undefined],
    ["its timer long late", { timerLateMs: 45_000 }, /its timer is 45 s late/],
    ["a stopped engine with a stale timer reading", { started: false, timerLateMs: 45_000 }, undefined],
    [
      "failing upstream, expired credentials (readiness says so)",
      { status: "expired", consecutiveFailures: 9 },
      undefined,
    ],
  ])("%s", (_name, fields, wedged) => {
    const result = engineLiveness(state(fields));
    if (wedged === undefined) expect(result).toEqual({ ok: true, reason: "ok" });
    else expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(wedged) });
  });

  it("says a real engine is wedged when the deadline on its attempt never fires", async () => {
    const { fake, runtime } = brokenTimers();
    const engine = refreshing(() => new Promise<AwsCredentialIdentity>(() => {}), { runtime });
    engine.start();
    await fake.advance(90_000);
    expect(engineLiveness(engine.state())).toMatchObject({ ok: true });
    await fake.advance(1_000);
    expect(engineLiveness(engine.state())).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/attempt has run 91 s, past its 60 s deadline/),
    });
  });

  it("says a real engine is wedged when its timers stop running, whatever the wall clock does", async () => {
    const { fake, runtime } = brokenTimers();
    const engine = refreshing(async () => credentials(fake.now()), { runtime });
    engine.start();
    await fake.advance(0);
    // A jump of the wall clock alone is not a stuck engine.
    fake.jump(3 * 60 * MIN);
    expect(engineLiveness(engine.state())).toMatchObject({ ok: true });
    // Its next check was due 10 s on, and is now 31 s late.
    await fake.advance(41_000);
    expect(engineLiveness(engine.state())).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/its timer is 31 s late/),
    });
  });

  it("keeps a working engine live while its source hangs on every call for ten minutes", async () => {
    const fake = manualRuntime();
    const engine = refreshing(() => new Promise<AwsCredentialIdentity>(() => {}), { runtime: fake.runtime });
    engine.start();
    for (let t = 0; t < 10 * MIN; t += 5_000) {
      await fake.advance(5_000);
      expect(engineLiveness(engine.state()), `at ${t} ms`).toMatchObject({ ok: true });
    }
    expect(engine.state().consecutiveFailures).toBeGreaterThan(3);
    engine.stop();
  });
});

describe("tokenFileReadiness", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "credbridge-probes-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each<[string, string | undefined, RegExp | undefined]>([
    ["a token", "abc-123\n", undefined],
    ["missing", undefined, /is refused: it does not exist/],
    ["empty", "", /is empty/],
    ["two lines", "a\nb\n", /line break inside the token/],
    ["not ASCII", "tok\u00e9n", /outside printable ASCII/],
  ])("%s", async (name, text, refused) => {
    const file = join(dir, name.replaceAll(" ", "-"));
    if (text !== undefined) await writeFile(file, text);
    const result = tokenFileReadiness(file);
    if (refused === undefined) expect(result).toEqual({ ok: true, reason: "ok" });
    else expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(refused) });
    expect(result.reason).not.toMatch(/abc-123|tok\u00e9n/);
  });

  it("answers at once for a FIFO swapped in for the file, without reading it", async () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    expect(tokenFileReadiness(fifo)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not a regular file/),
    });
  });

  it("answers at once for a procfs file that never ends (size 0), reading at most 16 KiB of it", async () => {
    const link = join(dir, "pagemap");
    await symlink("/proc/self/pagemap", link);
    const started = performance.now();
    const result = tokenFileReadiness(link);
    expect(result).toEqual({
      ok: false,
      reason: `the container token file ${link} is refused: larger than 16384 bytes`,
    });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("refuses a token another user could have chosen: their file, one others may write, a link they planted", async () => {
    expect(process.geteuid?.(), "this case gives files to another uid, which takes root").toBe(0);
    const theirs = join(dir, "theirs");
    await writeFile(theirs, "tok", { mode: 0o600 });
    await chown(theirs, 4242, 4242);
    expect(tokenFileReadiness(theirs)).toEqual({
      ok: false,
      reason: `the container token file ${theirs} is refused: it belongs to uid 4242, not to uid 0`,
    });
    // Unless it is the user serve made it for (--file-owner).
    expect(tokenFileReadiness(theirs, [4242])).toEqual({ ok: true, reason: "ok" });
    const open = join(dir, "open");
    await writeFile(open, "tok");
    await chmod(open, 0o666);
    expect(tokenFileReadiness(open).reason).toMatch(/writable by group or others \(mode 0666\)/);
    const shared = join(dir, "shared");
    await mkdir(shared);
    await chmod(shared, 0o777);
    await symlink(join(dir, "a-token"), join(shared, "token"));
    expect(tokenFileReadiness(join(shared, "token")).reason).toMatch(
      /shared\/token is a symbolic link that another user could have planted or could change/,
    );
  });
});

describe("fileReadiness", () => {
  const NOW = Date.parse("2026-01-01T00:00:00Z");
  const status = (fields: Partial<RefresherStatus>): RefresherStatus =>
    ({
      path: "/shared/credentials",
      profile: "default",
      healthy: false,
      minRemainingSeconds: 30,
      lastWriteAt: new Date(NOW - 60_000),
      expirationWritten: new Date(NOW + 20_000),
      lastError: undefined,
      ...fields,
    }) as RefresherStatus;

  it("is ready while the refresher says the file is healthy", () => {
    expect(fileReadiness(status({ healthy: true }), NOW)).toEqual({ ok: true, reason: "ok" });
  });

  it("says the file holds credentials inside the margin, and why writes fail", () => {
    expect(
      fileReadiness(
        status({
          lastError: { message: "/shared/credentials stayed locked", code: "ERR_LOCKED", at: new Date(NOW) },
        }),
        NOW,
      ),
    ).toEqual({
      ok: false,
      reason:
        "the credentials file /shared/credentials holds credentials with 20 s left, inside the 30 s every output keeps; the last write failed: /shared/credentials stayed locked",
    });
  });

  it("says when it was never written", () => {
    expect(fileReadiness(status({ lastWriteAt: undefined }), NOW).reason).toBe(
      "the credentials file /shared/credentials is not written yet",
    );
  });

  it("names the profile whose section cannot serve, with several profiles in the file", () => {
    const profile = (name: string, healthy: boolean, expiresIn: number) => ({
      profile: name,
      healthy,
      lastWriteAt: new Date(NOW - 60_000),
      expirationWritten: new Date(NOW + expiresIn),
      lastError: undefined,
      refresh: {} as RefresherStatus["refresh"],
    });
    expect(
      fileReadiness(
        status({ profiles: [profile("default", true, 3_600_000), profile("writer", false, 10_000)] }),
        NOW,
      ).reason,
    ).toBe(
      "profile writer: the credentials file /shared/credentials holds credentials with 10 s left, inside the 30 s every output keeps",
    );
  });
});
