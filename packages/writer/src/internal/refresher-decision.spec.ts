import { CredbridgeError, isCredbridgeError } from "@credbridge/core";
import type { AwsCredentialIdentity } from "@smithy/types";
import { describe, expect, it } from "vitest";
import type { ProfileCredentials } from "../write-credentials.js";
import {
  adoptedExpiry,
  afterFailedWrite,
  backoffBeforeWrite,
  dueForRemoval,
  enteredMargin,
  failureVerdict,
  type HeldSection,
  isHealthy,
  marginRefusal,
  nextStep,
  notSuperseded,
  sortQueued,
} from "./refresher-decision.js";

const NOW = Date.UTC(2026, 0, 1);
const S = 1000;
const MARGIN = 300;

/** Credentials expiring `inSeconds` from NOW (never, when undefined). */
const creds = (inSeconds: number | undefined, key = "ASIAKEYABCD"): AwsCredentialIdentity => ({
  accessKeyId: key,
  secretAccessKey: "secret",
  sessionToken: "token",
  ...(inSeconds === undefined ? {} : { expiration: new Date(NOW + inSeconds * S) }),
});
const tried = (profile: string, inSeconds: number | undefined): ProfileCredentials => ({
  profile,
  credentials: creds(inSeconds),
});
const expiredError = () => new CredbridgeError("inside the margin under the lock", { code: "ERR_EXPIRED" });
const diskFull = () => Object.assign(new Error("no space left on device"), { code: "ENOSPC" });

describe("nextStep", () => {
  it.each([
    ["nothing queued, nothing expired: idle", { stopped: false, queued: 0, expiring: 0 }, "idle"],
    ["credentials queued: write", { stopped: false, queued: 1, expiring: 0 }, "write"],
    [
      "new credentials before removals: they replace the section anyway",
      { stopped: false, queued: 2, expiring: 1 },
      "write",
    ],
    ["only an expired section: remove it", { stopped: false, queued: 0, expiring: 1 }, "remove-expired"],
    ["stopped: idle, whatever waits", { stopped: true, queued: 1, expiring: 1 }, "idle"],
  ] as const)("%s", (_label, state, expected) => {
    expect(nextStep(state)).toBe(expected);
  });
});

describe("marginRefusal and enteredMargin", () => {
  type Row = [
    label: string,
    inSeconds: number | undefined,
    margin: number,
    refused: boolean,
    entered: boolean,
  ];
  const rows: Row[] = [
    ["never expiring: written", undefined, MARGIN, false, false],
    ["an hour left: written", 3600, MARGIN, false, false],
    ["exactly the margin left: written", MARGIN, MARGIN, false, false],
    ["a second less than the margin: refused", MARGIN - 1, MARGIN, true, true],
    ["expired: refused", -10, MARGIN, true, true],
    ["no margin, a second left: written", 1, 0, false, false],
    // Before the write only less than the margin refuses; under the lock an expiry at `now` counts too.
    ["no margin, expiring now: written, but entered under the lock", 0, 0, false, true],
    ["no margin, expired: refused", -1, 0, true, true],
  ];
  it.each(rows)("%s", (_label, inSeconds, margin, refused, entered) => {
    const c = creds(inSeconds);
    const refusal = marginRefusal(c, NOW, margin);
    expect(refusal !== undefined).toBe(refused);
    if (refusal) expect(isCredbridgeError(refusal) && refusal.code).toBe("ERR_EXPIRED");
    expect(enteredMargin(c, NOW, margin)).toBe(entered);
  });

  it("says when they expire and how long is left, never the key", () => {
    const refusal = marginRefusal(creds(90), NOW, MARGIN);
    expect(refusal?.message).toBe(
      `these credentials expire at ${new Date(NOW + 90 * S).toISOString()}, 90 s from now, less than the 300 s every output keeps; not writing them`,
    );
    expect(marginRefusal(creds(-5), NOW, MARGIN)?.message).toMatch(/, 0 s from now,/);
  });
});

describe("sortQueued", () => {
  it("writes every profile that may be written, in order, and refuses the others alone", () => {
    const queued = new Map<string, AwsCredentialIdentity>([
      ["a", creds(3600)],
      ["short", creds(60)],
      ["spaced", { ...creds(3600), secretAccessKey: "has a space" }],
      ["b", creds(undefined)],
    ]);
    const { write, refused } = sortQueued(queued, NOW, MARGIN);
    expect(write.map((w) => w.profile)).toEqual(["a", "b"]);
    expect(write[0]?.credentials).toBe(queued.get("a"));
    expect(refused.map((r) => [r.profile, isCredbridgeError(r.error) && r.error.code])).toEqual([
      ["short", "ERR_EXPIRED"],
      ["spaced", "ERR_CONFIG"],
    ]);
    expect(refused.map((r) => r.error.message).join("\n")).not.toContain("has a space");
  });

  it("an empty queue writes nothing", () => {
    expect(sortQueued(new Map(), NOW, MARGIN)).toEqual({ write: [], refused: [] });
  });
});

describe("afterFailedWrite", () => {
  type Row = [
    label: string,
    tried: ProfileCredentials[],
    error: Error,
    expected: string,
    waitForNew?: string[],
  ];
  const rows: Row[] = [
    ["a full disk: retry", [tried("a", 3600)], diskFull(), "retry"],
    [
      "a full disk, several profiles: retry them all",
      [tried("a", 3600), tried("b", 60)],
      diskFull(),
      "retry",
    ],
    [
      "one profile inside the margin under the lock: wait for new",
      [tried("a", 60)],
      expiredError(),
      "wait-for-new",
    ],
    [
      "several, one inside the margin under the lock: it waits, the others go again",
      [tried("a", 3600), tried("b", 60), tried("c", 7200)],
      expiredError(),
      "split",
      ["b"],
    ],
    [
      "several, ERR_EXPIRED but none inside the margin by our clock: all wait for new",
      [tried("a", 3600), tried("b", 3600)],
      expiredError(),
      "wait-for-new",
    ],
    [
      "a non-credbridge ERR_EXPIRED look-alike: retry",
      [tried("a", 60)],
      Object.assign(new Error("x"), { code: "ERR_EXPIRED" }),
      "retry",
    ],
  ];
  it.each(rows)("%s", (_label, t, error, expected, waitForNew) => {
    const decision = afterFailedWrite(t, error, NOW, MARGIN);
    expect(decision.action).toBe(expected);
    if (decision.action === "split") {
      expect(decision.waitForNew.map((w) => w.profile)).toEqual(waitForNew);
      expect(decision.writeAgain).toEqual(t.filter((x) => !waitForNew?.includes(x.profile)));
    }
  });
});

describe("failureVerdict", () => {
  const expiring = new Date(NOW + 60 * S);
  type Row = [
    label: string,
    held: HeldSection,
    retryAt: Date | undefined,
    expected: ReturnType<typeof failureVerdict>,
  ];
  const rows: Row[] = [
    [
      "never written, retrying: an error, nothing left expired",
      { lastWriteAt: undefined, expirationWritten: undefined },
      new Date(NOW + S),
      { leftExpired: false, level: "error" },
    ],
    [
      "written, retry before the expiry: a warning",
      { lastWriteAt: NOW - S, expirationWritten: expiring },
      new Date(NOW + 30 * S),
      { leftExpired: false, level: "warn" },
    ],
    [
      "written, retry at the expiry: left expired",
      { lastWriteAt: NOW - S, expirationWritten: expiring },
      expiring,
      { leftExpired: true, level: "error" },
    ],
    [
      "written, waiting for new credentials: left holding these",
      { lastWriteAt: NOW - S, expirationWritten: expiring },
      undefined,
      { leftExpired: true, level: "error" },
    ],
    [
      "a section a previous process left, waiting for new: left expired",
      { lastWriteAt: undefined, expirationWritten: expiring },
      undefined,
      { leftExpired: true, level: "error" },
    ],
    [
      "written with never-expiring credentials, waiting: a warning",
      { lastWriteAt: NOW - S, expirationWritten: undefined },
      undefined,
      { leftExpired: false, level: "warn" },
    ],
  ];
  it.each(rows)("%s", (_label, held, retryAt, expected) => {
    expect(failureVerdict(held, retryAt)).toEqual(expected);
  });
});

describe("notSuperseded and backoffBeforeWrite", () => {
  const a = tried("a", 3600);
  const b = tried("b", 3600);
  const newerA = creds(7200, "ASIANEWERAAA");

  it("newer credentials queued meanwhile win over a retry", () => {
    expect(notSuperseded([a, b], new Map([["a", newerA]]))).toEqual([b]);
    expect(notSuperseded([a, b], new Map())).toEqual([a, b]);
  });

  type Row = [
    label: string,
    delay: number | undefined,
    stopped: boolean,
    queued: [string, AwsCredentialIdentity][],
    expected: number | undefined,
  ];
  const batch = new Map([
    ["a", a.credentials],
    ["b", b.credentials],
  ]);
  const rows: Row[] = [
    ["retrying the same credentials: back off", 1000, false, [["a", a.credentials]], 1000],
    [
      "retrying all of the same: back off",
      1000,
      false,
      [
        ["a", a.credentials],
        ["b", b.credentials],
      ],
      1000,
    ],
    ["newer credentials among them: at once", 1000, false, [["a", newerA]], undefined],
    ["a profile the batch did not carry: at once", 1000, false, [["c", a.credentials]], undefined],
    ["nothing to retry: no wait", 1000, false, [], undefined],
    ["waiting for new credentials (no delay): no wait", undefined, false, [["a", a.credentials]], undefined],
    ["stopped: no wait", 1000, true, [["a", a.credentials]], undefined],
  ];
  it.each(rows)("%s", (_label, delay, stopped, queued, expected) => {
    expect(backoffBeforeWrite(delay, stopped, new Map(queued), batch)).toBe(expected);
  });
});

describe("dueForRemoval", () => {
  it("keeps the sections still holding expired credentials, not those renewed or never known", () => {
    const sections = [
      { profile: "expired", lastWriteAt: NOW - 3600 * S, expirationWritten: new Date(NOW - S) },
      { profile: "at-now", lastWriteAt: undefined, expirationWritten: new Date(NOW) },
      { profile: "renewed", lastWriteAt: NOW, expirationWritten: new Date(NOW + 3600 * S) },
      { profile: "unknown", lastWriteAt: undefined, expirationWritten: undefined },
    ];
    expect(dueForRemoval(sections, NOW).map((s) => s.profile)).toEqual(["expired", "at-now"]);
  });
});

describe("adoptedExpiry", () => {
  const unknown: HeldSection = { lastWriteAt: undefined, expirationWritten: undefined };
  type Row = [label: string, held: HeldSection, recorded: string | undefined, expected: number | undefined];
  const rows: Row[] = [
    ["a section left by a previous process: watched", unknown, "2026-01-01T01:00:00Z", NOW + 3600 * S],
    ["an expired one too", unknown, "2025-12-31T23:00:00Z", NOW - 3600 * S],
    ["no section (or no expiry in it): nothing", unknown, undefined, undefined],
    ["an expiry no date parser reads: nothing", unknown, "soon", undefined],
    [
      "written already by this refresher: left to that write",
      { lastWriteAt: NOW, expirationWritten: new Date(NOW + 60 * S) },
      "2026-01-01T01:00:00Z",
      undefined,
    ],
    [
      "adopted already: not again",
      { lastWriteAt: undefined, expirationWritten: new Date(NOW + 60 * S) },
      "2026-01-01T01:00:00Z",
      undefined,
    ],
    [
      "written with never-expiring credentials: left to that write",
      { lastWriteAt: NOW, expirationWritten: undefined },
      "2026-01-01T01:00:00Z",
      undefined,
    ],
  ];
  it.each(rows)("%s", (_label, held, recorded, expected) => {
    expect(adoptedExpiry(held, recorded)?.getTime()).toBe(expected);
  });
});

describe("isHealthy", () => {
  type Row = [label: string, held: HeldSection, stopped: boolean, expected: boolean];
  const rows: Row[] = [
    ["never written", { lastWriteAt: undefined, expirationWritten: new Date(NOW + 3600 * S) }, false, false],
    ["written, an hour left", { lastWriteAt: NOW, expirationWritten: new Date(NOW + 3600 * S) }, false, true],
    ["written, never expiring", { lastWriteAt: NOW, expirationWritten: undefined }, false, true],
    [
      "written, exactly the margin left",
      { lastWriteAt: NOW, expirationWritten: new Date(NOW + MARGIN * S) },
      false,
      false,
    ],
    [
      "written, inside the margin",
      { lastWriteAt: NOW, expirationWritten: new Date(NOW + 60 * S) },
      false,
      false,
    ],
    ["stopped", { lastWriteAt: NOW, expirationWritten: new Date(NOW + 3600 * S) }, true, false],
  ];
  it.each(rows)("%s", (_label, held, stopped, expected) => {
    expect(isHealthy(held, stopped, NOW, MARGIN)).toBe(expected);
  });
});
