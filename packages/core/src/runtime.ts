import { constants } from "node:fs";
import { open } from "node:fs/promises";
import type { Logger } from "@smithy/types";
import { readBounded } from "./files/bounded-read.js";
import { nodeFetch } from "./internal/node-fetch.js";

/**
 * What `readTextFile` reads at most by default: above any token (STS takes
 * web-identity tokens of up to 20 000 characters), far below what would hurt.
 */
export const MAX_TEXT_FILE_BYTES = 64 * 1024;

/** A cancellable timer handle returned by {@link Runtime.setTimer}. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * The few effects credbridge performs, injectable so tests control time, files,
 * network and randomness without patching globals. Every field has a Node default.
 */
export interface Runtime {
  /**
   * Milliseconds since the epoch: the wall clock, which expirations are
   * measured on. It can jump (an NTP step, a resumed VM) while timers do not.
   */
  now(): number;
  /**
   * Milliseconds on the clock timers run on: it never jumps with the wall
   * clock. For how long something has taken, never for expirations. Default
   * `performance.now()`, or `now` when the runtime brings its own `setTimer`.
   */
  monotonicNow(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Runs `fn` once after `ms`. `unref` lets the process exit while the timer is pending. */
  setTimer(fn: () => void, ms: number, options?: { unref?: boolean }): TimerHandle;
  /** Uniform in [0, 1): the source of jitter. */
  random(): number;
  /** The environment variables providers read their defaults from. */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Reads a UTF-8 text file (token files): a regular file only, at most
   * `maxBytes` of it (default {@link MAX_TEXT_FILE_BYTES}; more rejects with a
   * `FileTooLargeError`, code ERR_FILE_TOO_LARGE); stops reading when `signal` aborts.
   */
  readTextFile(
    path: string,
    options?: { signal?: AbortSignal | undefined; maxBytes?: number | undefined },
  ): Promise<string>;
  /**
   * WHATWG fetch, used by the HTTP (container-credentials) provider. Default:
   * its GET on node:http, the global fetch for anything else (see node-fetch.ts).
   */
  fetch: typeof globalThis.fetch;
  /** Optional logger with the AWS SDK's logger shape. Never given a secret. */
  logger?: Logger | undefined;
}

export type RuntimeOptions = Partial<Runtime>;

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

const setTimer = (fn: () => void, ms: number, options?: { unref?: boolean }): TimerHandle => {
  // setTimeout caps at 2^31-1 ms; longer delays would fire at once.
  const timer = setTimeout(fn, Math.min(Math.max(0, ms), 2_147_483_647));
  if (options?.unref) timer.unref();
  return { cancel: () => clearTimeout(timer) };
};

/**
 * Reads a token file: a regular file only, opened O_NONBLOCK so that a FIFO
 * or a device there fails at once instead of holding a thread-pool thread
 * (which no deadline can take back); at most `maxBytes`, counted as read (a
 * sparse file or a procfs one says nothing true of its size); the read stops
 * when `signal` aborts.
 */
const readTextFile = async (
  path: string,
  options?: { signal?: AbortSignal | undefined; maxBytes?: number | undefined },
): Promise<string> => {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new Error("not a regular file (a FIFO or a device?)");
    const bytes = await readBounded(handle, options?.maxBytes ?? MAX_TEXT_FILE_BYTES, options?.signal);
    return bytes.toString("utf8");
  } finally {
    await handle.close();
  }
};

/**
 * The Node runtime, with any given fields overriding the defaults. A runtime
 * that brings its own timers (`setTimer`) and clock (`now`) but no
 * `monotonicNow` measures lengths of time on that clock, the one its timers
 * run on (a test's manual clock), rather than on Node's.
 */
export const resolveRuntime = (overrides: RuntimeOptions = {}): Runtime => ({
  now: Date.now,
  monotonicNow:
    overrides.setTimer !== undefined && overrides.now !== undefined ? overrides.now : () => performance.now(),
  sleep,
  setTimer,
  random: Math.random,
  env: process.env,
  readTextFile,
  fetch: nodeFetch,
  ...overrides,
});
