import { describe, expect, it } from "vitest";
import { aborted, untilStopped } from "./until-stopped.js";

/** Timers holding Node's event loop now (unref'd ones are not listed). */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("untilStopped", () => {
  it("holds the process with one timer until the signal aborts, then releases it", async () => {
    const stop = new AbortController();
    const before = timers();
    const waiting = untilStopped(stop.signal);
    expect(timers()).toBe(before + 1);
    stop.abort("SIGTERM");
    await waiting;
    expect(timers()).toBe(before);
  });

  it("resolves at once, holding nothing, when the signal has already aborted", async () => {
    const before = timers();
    await untilStopped(AbortSignal.abort());
    expect(timers()).toBe(before);
  });
});

describe("aborted", () => {
  it("resolves on abort and holds nothing meanwhile", async () => {
    const stop = new AbortController();
    const before = timers();
    const waiting = aborted(stop.signal);
    expect(timers()).toBe(before);
    stop.abort();
    await waiting;
  });
});
