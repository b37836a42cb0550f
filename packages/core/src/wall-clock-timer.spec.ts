import { describe, expect, it } from "vitest";
import { manualRuntime } from "./testing.js";
import { setWallClockTimer } from "./wall-clock-timer.js";

const MIN = 60_000;

describe("setWallClockTimer", () => {
  it("fires at the wall-clock moment when no clock moves on its own", async () => {
    const fake = manualRuntime();
    let fired = 0;
    setWallClockTimer(fake.runtime, fake.now() + 45 * MIN, () => fired++);
    await fake.advance(45 * MIN - 1);
    expect(fired).toBe(0);
    await fake.advance(1);
    expect(fired).toBe(1);
    await fake.advance(60 * MIN);
    expect(fired).toBe(1);
    expect(fake.pendingTimers()).toEqual([]);
  });

  it("fires within one check after the wall clock jumps past the moment, while the timers stood still", async () => {
    const fake = manualRuntime();
    let fired = 0;
    setWallClockTimer(fake.runtime, fake.now() + 45 * MIN, () => fired++, { checkEveryMs: 5_000 });
    fake.jump(2 * 60 * MIN);
    expect(fired).toBe(0);
    await fake.advance(5_000);
    expect(fired).toBe(1);
  });

  it("waits on after a backward step: the moment is on the wall clock", async () => {
    const fake = manualRuntime();
    let fired = 0;
    setWallClockTimer(fake.runtime, fake.now() + 10 * MIN, () => fired++);
    fake.jump(-5 * MIN);
    await fake.advance(10 * MIN);
    expect(fired).toBe(0);
    await fake.advance(5 * MIN);
    expect(fired).toBe(1);
  });

  it("never fires synchronously for a moment already past, and never after cancel", async () => {
    const fake = manualRuntime();
    let fired = 0;
    setWallClockTimer(fake.runtime, fake.now() - 1, () => fired++);
    expect(fired).toBe(0);
    await fake.advance(0);
    expect(fired).toBe(1);
    const handle = setWallClockTimer(fake.runtime, fake.now() + MIN, () => fired++);
    await fake.advance(30_000);
    handle.cancel();
    await fake.advance(10 * MIN);
    expect(fired).toBe(1);
    expect(fake.pendingTimers()).toEqual([]);
  });

  it("keeps at most one timer pending, never longer than one check", async () => {
    const fake = manualRuntime();
    setWallClockTimer(fake.runtime, fake.now() + 12 * 60 * MIN, () => {});
    expect(fake.pendingTimers()).toEqual([10_000]);
    await fake.advance(25_000);
    expect(fake.pendingTimers()).toEqual([5_000]);
  });
});
