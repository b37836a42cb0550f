import { writeFile } from "node:fs/promises";
import { fromWebIdentity, refreshing } from "@credbridge/core";
import { mintWebIdentityToken, startStsEmulator } from "@credbridge/emulators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

/**
 * The engine and the emulator share one manual clock, so an hour of STS trouble
 * takes milliseconds and the expiry arithmetic is exact.
 */
describe("refresh engine over real STS calls, on a shared manual clock", () => {
  let clock = Date.parse("2026-03-01T00:00:00Z");
  const now = () => clock;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    tmp = await tempDir();
    await writeFile(tmp.path("token"), mintWebIdentityToken({ exp: clock / 1000 + 10 * 86400 }));
  });
  afterAll(() => tmp.cleanup());

  it("serves cached credentials through a failed refresh, never expired ones, and recovers", async () => {
    const sts = await startStsEmulator({ now });
    try {
      const timers: { at: number; fn: () => void }[] = [];
      const engine = refreshing(
        fromWebIdentity({
          roleArn: "arn:aws:iam::111122223333:role/app",
          tokenFile: tmp.path("token"),
          region: "us-east-1",
          stsEndpoint: sts.url,
          clientConfig: { maxAttempts: 1 },
        }),
        {
          runtime: {
            now,
            random: () => 0,
            setTimer: (fn, ms) => {
              const t = { at: clock + ms, fn };
              timers.push(t);
              return { cancel: () => timers.splice(timers.indexOf(t), 1) };
            },
          },
        },
      );
      const first = await engine();
      expect(first.expiration!.getTime()).toBe(clock + 3600_000);

      sts.failAlways({ code: "AccessDenied" });
      clock += 52 * 60_000; // inside the mandatory window: one refresh attempt, fails
      expect((await engine()).accessKeyId).toBe(first.accessKeyId);
      const attempts = sts.calls.length;
      expect(attempts).toBe(2);
      for (let i = 0; i < 20; i++) expect((await engine()).accessKeyId).toBe(first.accessKeyId);
      expect(sts.calls.length).toBe(attempts); // backoff: no hammering

      clock += 9 * 60_000; // past expiry
      await expect(engine()).rejects.toThrow(/AccessDenied/);
      clock += 60_000;
      await expect(engine()).rejects.toThrow(/AccessDenied/);

      sts.clearFaults();
      clock += 10 * 60_000;
      const recovered = await engine();
      expect(recovered.accessKeyId).not.toBe(first.accessKeyId);
      expect(recovered.expiration!.getTime()).toBeGreaterThan(clock);
      expect(engine.state()).toMatchObject({ status: "fresh", consecutiveFailures: 0 });
    } finally {
      await sts.close();
    }
  });
});
