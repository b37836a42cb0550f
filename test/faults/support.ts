import { writeFile } from "node:fs/promises";
import { fromWebIdentity, type RefreshingProvider, type TimerHandle } from "@credbridge/core";
import { mintWebIdentityToken } from "@credbridge/emulators";
import type { Logger } from "@smithy/types";
import { vi } from "vitest";

export const ROLE = "arn:aws:iam::111122223333:role/app";
export const START = Date.parse("2026-03-01T00:00:00Z");

/**
 * A manual clock shared by the engine and the emulators: timers fire only when
 * the test moves time forward, so hours of trouble take milliseconds of real time
 * while the HTTP calls in between stay real.
 */
export const manualClock = (start = START) => {
  let now = start;
  const timers = new Set<{ at: number; fn: () => void }>();
  const clock = {
    now: () => now,
    setTimer: (fn: () => void, ms: number): TimerHandle => {
      const timer = { at: now + Math.max(0, ms), fn };
      timers.add(timer);
      return { cancel: () => timers.delete(timer) };
    },
    /** Moves to `to`, firing due timers in order and awaiting `settle` after each. */
    advanceTo: async (to: number, settle: () => Promise<void>) => {
      for (;;) {
        const due = [...timers].filter((t) => t.at <= to).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers.delete(due);
        now = Math.max(now, due.at);
        due.fn();
        await settle();
      }
      now = Math.max(now, to);
    },
    /** Jumps without firing timers. */
    set: (to: number) => {
      now = to;
    },
    pending: () => [...timers].map((t) => t.at).sort((a, b) => a - b),
  };
  return clock;
};

/**
 * Resolves once the engine has no refresh in flight: at once, or after the
 * outcome of the one running (bounded). The outcome is reported before the
 * engine lets go of the refresh and schedules the next: checked a turn later.
 */
export const idle = (engine: RefreshingProvider, timeoutMs = 10_000): Promise<void> =>
  engine.state().refreshing
    ? new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          unsubscribe();
          reject(new Error(`refresh still in flight after ${timeoutMs} ms`));
        }, timeoutMs);
        const unsubscribe = engine.subscribe((event) => {
          if (event.type === "refresh-start") return;
          setImmediate(() => {
            if (engine.state().refreshing) return;
            clearTimeout(timer);
            unsubscribe();
            resolve();
          });
        });
      })
    : Promise.resolve();

/** Waits, through vitest's waitFor, until `check` holds; bounded. */
export const until = (check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> =>
  vi.waitFor(
    () => {
      if (!check()) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    },
    { timeout: timeoutMs, interval: 2 },
  );

/** A logger that keeps every line, by level. */
export const memoryLogger = () => {
  const lines: { level: string; text: string }[] = [];
  const push =
    (level: string) =>
    (...args: unknown[]) => {
      lines.push({ level, text: args.map(String).join(" ") });
    };
  const logger: Logger = {
    debug: push("debug"),
    info: push("info"),
    warn: push("warn"),
    error: push("error"),
  };
  return { logger, lines };
};

/** Writes a projected-token-like JWT valid for ten days on the given clock. */
export const writeToken = (path: string, now: () => number, jti = "t1") =>
  writeFile(
    path,
    mintWebIdentityToken({
      now,
      exp: Math.floor(now() / 1000) + 10 * 86_400,
      sub: "system:serviceaccount:shop:app",
      extra: { jti },
    }),
  );

/** The claim a test token was minted with, as the emulator decoded it. */
export const jtiOf = (claims: unknown): string | undefined => (claims as { jti?: string } | undefined)?.jti;

/** fromWebIdentity against an emulator: no SDK retries, so every attempt is one call the test can count. */
export const webIdentity = (
  stsUrl: string,
  tokenFile: string,
  extra: { requestTimeoutMs?: number; maxAttempts?: number; timeoutMs?: number } = {},
) =>
  fromWebIdentity({
    roleArn: ROLE,
    tokenFile,
    region: "us-east-1",
    stsEndpoint: stsUrl,
    ...(extra.timeoutMs === undefined ? {} : { timeoutMs: extra.timeoutMs }),
    clientConfig: {
      maxAttempts: extra.maxAttempts ?? 1,
      requestHandler: {
        connectionTimeout: 1_000,
        requestTimeout: extra.requestTimeoutMs ?? 5_000,
        throwOnRequestTimeout: true,
      },
    },
    runtime: { env: {} },
  });
