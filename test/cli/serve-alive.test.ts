import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, startCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(() => tmp.cleanup());

/**
 * How long serve must outlive its first write. Before the fix it exited (code 0) within
 * milliseconds of the write, as soon as Node's event loop drained; a second is a wide margin.
 */
const OUTLIVES_MS = 1_000;

describe("credbridge serve with nothing else holding the event loop", () => {
  it("runs until SIGTERM: static credentials (no refresh timer) and only the file output (no socket)", async () => {
    const file = tmp.path("static", "credentials");
    const cli = startCli(
      ["serve", "--source", "default", "--credentials-file", file],
      cleanEnv(tmp.path("home"), { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" }),
    );
    try {
      await cli.waitFor((l) => String(l.msg).includes(`${file} [default] updated; credentials expire never`));
      // The point where it used to exit: it must still be running a second later.
      const early = await Promise.race([cli.exited, delay(OUTLIVES_MS, "running" as const)]);
      expect(early, `serve exited on its own; log:\n${cli.lines.join("\n")}`).toBe("running");
      // And it still does its work: SIGHUP forces a refresh.
      cli.child.kill("SIGHUP");
      await cli.waitFor((l) => l.msg === "credentials refreshed" && l.reason === "forced");

      const exit = await cli.stop("SIGTERM");
      expect(exit).toEqual({ code: 0, signal: null });
      await cli.waitFor((l) => l.msg === "stopping" && l.signal === "SIGTERM", 0);
      await cli.waitFor((l) => l.msg === "stopped", 0);
    } finally {
      await cli.stop("SIGKILL");
    }
  });
});
