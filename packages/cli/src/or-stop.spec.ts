import { describe, expect, it } from "vitest";
import { orStop, StoppedError } from "./or-stop.js";

describe("orStop", () => {
  it("settles as the work does while the signal stays quiet", async () => {
    const stop = new AbortController();
    await expect(orStop(Promise.resolve(7), stop.signal, "x")).resolves.toBe(7);
    await expect(orStop(Promise.reject(new Error("no")), stop.signal, "x")).rejects.toThrow("no");
  });

  it("rejects at the abort, naming the signal and what was awaited, while the work hangs", async () => {
    const stop = new AbortController();
    const hung = new Promise<never>(() => {});
    const waiting = orStop(hung, stop.signal, "credentials from the source");
    stop.abort("SIGTERM");
    const error = await waiting.catch((e) => e);
    expect(error).toBeInstanceOf(StoppedError);
    expect(error.message).toBe("stopped by SIGTERM while waiting for credentials from the source");
  });

  it("rejects at once when the signal has already aborted, and swallows the work's later failure", async () => {
    let fail: (e: Error) => void = () => {};
    const work = new Promise<never>((_, reject) => {
      fail = reject;
    });
    await expect(orStop(work, AbortSignal.abort("SIGINT"), "STS")).rejects.toThrow("stopped by SIGINT");
    fail(new Error("socket closed"));
    await new Promise((r) => setImmediate(r)); // an unhandled rejection would fail the run
  });
});
