import { describe, expect, it } from "vitest";
import { type Decision, type DecisionInput, decide, statusAt } from "./decision.js";

// Credentials whose windows open at 100 (advisory), 200 (mandatory) and close at 300 (unusable).
const windows = { refreshAt: 100, mandatoryAt: 200, usableUntil: 300 };
const at = {
  fresh: 50,
  advisory: 150,
  mandatory: 250,
  expired: 300,
} as const;

type Row = [
  label: string,
  cached: DecisionInput["cached"],
  now: number,
  inflight: boolean,
  backoff: boolean,
  mayWait: boolean,
  expected: Decision,
];

const rows: Row[] = [
  // Nothing cached.
  [
    "empty: start the first refresh",
    undefined,
    0,
    false,
    false,
    true,
    { action: "refresh", reason: "initial" },
  ],
  ["empty, in flight: join it", undefined, 0, true, false, true, { action: "join" }],
  ["empty, backing off: refuse", undefined, 0, false, true, true, { action: "refuse" }],
  [
    "empty, server: start it too",
    undefined,
    0,
    false,
    false,
    false,
    { action: "refresh", reason: "initial" },
  ],
  // Never-expiring credentials.
  ["static: cached for good", "static", 10 ** 12, false, false, true, { action: "cached" }],
  // Fresh.
  ["fresh: cached", windows, at.fresh, false, false, true, { action: "cached" }],
  ["fresh, backing off: cached", windows, at.fresh, false, true, true, { action: "cached" }],
  // Advisory window: never wait.
  [
    "advisory: cached + background",
    windows,
    at.advisory,
    false,
    false,
    true,
    { action: "cached-and-refresh", reason: "advisory" },
  ],
  ["advisory, in flight: cached", windows, at.advisory, true, false, true, { action: "cached" }],
  ["advisory, backing off: cached", windows, at.advisory, false, true, true, { action: "cached" }],
  [
    "advisory, server: cached + background",
    windows,
    at.advisory,
    false,
    false,
    false,
    { action: "cached-and-refresh", reason: "advisory" },
  ],
  // Mandatory window: callers that may wait do; servers never do.
  [
    "mandatory: refresh and wait",
    windows,
    at.mandatory,
    false,
    false,
    true,
    { action: "refresh", reason: "mandatory" },
  ],
  ["mandatory, in flight: join", windows, at.mandatory, true, false, true, { action: "join" }],
  [
    "mandatory, backing off: cached (stale-if-error)",
    windows,
    at.mandatory,
    false,
    true,
    true,
    { action: "cached" },
  ],
  [
    "mandatory, server: cached + background",
    windows,
    at.mandatory,
    false,
    false,
    false,
    { action: "cached-and-refresh", reason: "mandatory" },
  ],
  ["mandatory, server, in flight: cached", windows, at.mandatory, true, false, false, { action: "cached" }],
  ["mandatory, server, backing off: cached", windows, at.mandatory, false, true, false, { action: "cached" }],
  // Past the usable life: never returned.
  [
    "expired: refresh and wait",
    windows,
    at.expired,
    false,
    false,
    true,
    { action: "refresh", reason: "expired" },
  ],
  ["expired, in flight: join", windows, at.expired, true, false, true, { action: "join" }],
  ["expired, backing off: refuse", windows, at.expired, false, true, true, { action: "refuse" }],
  [
    "expired, server: start the refresh",
    windows,
    at.expired,
    false,
    false,
    false,
    { action: "refresh", reason: "expired" },
  ],
  ["expired, server, in flight: join", windows, at.expired, true, false, false, { action: "join" }],
  ["expired, server, backing off: refuse", windows, at.expired, false, true, false, { action: "refuse" }],
];

describe("decide", () => {
  it.each(rows)("%s", (_label, cached, now, inflight, backoff, mayWait, expected) => {
    // The backoff is on the monotonic clock, which need not agree with the wall clock at all.
    const monotonic = 5_000;
    const [mayCallAt, mayCallAtWall] = backoff ? [monotonic + 1, now + 1] : [monotonic - 1, now - 1];
    expect(decide({ now, monotonic, cached, inflight, mayCallAt, mayCallAtWall, mayWait })).toEqual(expected);
  });

  it("lets the source be called again the moment the backoff ends", () => {
    expect(
      decide({
        now: 400,
        monotonic: 7,
        cached: windows,
        inflight: false,
        mayCallAt: 7,
        mayCallAtWall: 400,
        mayWait: true,
      }),
    ).toEqual({
      action: "refresh",
      reason: "expired",
    });
  });
});

describe("statusAt", () => {
  it.each([
    [undefined, 0, "empty"],
    ["static", 0, "fresh"],
    [windows, at.fresh, "fresh"],
    [windows, at.advisory, "advisory"],
    [windows, at.mandatory, "mandatory"],
    [windows, at.expired, "expired"],
  ] as const)("%o at %d is %s", (cached, now, status) => {
    expect(statusAt(cached, now)).toBe(status);
  });
});
