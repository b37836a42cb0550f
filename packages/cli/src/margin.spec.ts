import { isCredbridgeError } from "@credbridge/core";
import { describe, expect, it } from "vitest";
import { UsageError } from "./args/usage-error.js";
import { checkSessionOutlivesMargin, credentialsOutliveMargin } from "./margin.js";

describe("checkSessionOutlivesMargin", () => {
  it.each([
    [{ seconds: 900, setBy: "--duration 900" }, 900, true],
    [{ seconds: 600, setBy: "--duration 600" }, 900, true],
    [{ seconds: 901, setBy: "--duration 901" }, 900, false],
    [{ seconds: 3600, setBy: "STS's default" }, 3600, true],
    [undefined, 100_000, false],
  ])("session %j with --min-remaining %i: refused %s", (session, min, refused) => {
    const run = () => checkSessionOutlivesMargin(session, min, "serve");
    if (!refused) return expect(run).not.toThrow();
    expect(run).toThrow(UsageError);
    expect(run).toThrow(new RegExp(`--min-remaining ${min} can never be met.*${session!.setBy}.*--duration`));
  });
});

describe("credentialsOutliveMargin", () => {
  const now = () => Date.parse("2026-01-01T00:00:00Z");
  const lasting = (seconds: number) => ({
    accessKeyId: "ASIA",
    secretAccessKey: "s",
    expiration: new Date(now() + seconds * 1000),
  });

  it("refuses credentials that do not outlive the margin as a stale answer to retry (ERR_EXPIRED), with the fix, every time", async () => {
    const answers = [lasting(599), lasting(6 * 3600), lasting(600)];
    const provider = credentialsOutliveMargin(async () => answers.shift()!, {
      minRemainingSeconds: 900,
      now,
      name: "source pod-identity",
      session: undefined,
    });
    const error = await provider().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.code).toBe("ERR_EXPIRED");
    expect((error as Error).message).toMatch(
      /credentials from source pod-identity last 599 s, not more than --min-remaining 900: they are neither served nor written\. A stale answer is retried with backoff; if every answer is this short, either lower --min-remaining below 599/,
    );
    // The next answer from the same source lasts six hours: served.
    expect((await provider()).expiration).toEqual(new Date(now() + 6 * 3_600_000));
    await expect(provider()).rejects.toMatchObject({ code: "ERR_EXPIRED" });
  });

  it("lets expired credentials through to the engine (its own message names the stale answer), and checks the next answer", async () => {
    const answers = [lasting(-60), lasting(600)];
    const provider = credentialsOutliveMargin(async () => answers.shift()!, {
      minRemainingSeconds: 900,
      now,
      name: "source pod-identity",
      session: undefined,
    });
    expect((await provider()).expiration).toEqual(new Date(now() - 60_000));
    await expect(provider()).rejects.toMatchObject({ code: "ERR_EXPIRED" });
  });

  it("names what was asked of STS when the chain set the length", async () => {
    const provider = credentialsOutliveMargin(async () => lasting(900), {
      minRemainingSeconds: 900,
      now,
      name: "source web-identity",
      session: { seconds: 3600, setBy: "web identity --duration 3600" },
    });
    await expect(provider()).rejects.toThrow(
      /issue the 3600 s asked for \(web identity --duration 3600; the role's MaxSessionDuration/,
    );
  });

  it("passes credentials that outlive the margin, and long-term keys", async () => {
    const options = { minRemainingSeconds: 900, now, name: "s", session: undefined };
    expect(await credentialsOutliveMargin(async () => lasting(901), options)()).toMatchObject({
      accessKeyId: "ASIA",
    });
    expect(
      await credentialsOutliveMargin(async () => ({ accessKeyId: "AKIA", secretAccessKey: "s" }), options)(),
    ).toMatchObject({ accessKeyId: "AKIA" });
  });
});
