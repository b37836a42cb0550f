import * as nodeFs from "node:fs";
import { CredbridgeError, resolveRuntime } from "@credbridge/core";
import type { Logger } from "@smithy/types";
import type { FileOwner, SharedFileOptions, WriterFs } from "../file-options.js";
import type { LockDeps, LockSettings } from "./lock.js";
import { lockSettings } from "./lock.js";
import { type FileKind, resolveFilePath } from "./resolve-path.js";
import { checkMode, checkProfileName, parseOwner } from "./validate.js";

export interface FileRequest {
  path: string;
  profile: string;
  mode: number;
  dirMode: number;
  owner: FileOwner | undefined;
  lock: LockSettings;
  fs: WriterFs;
  logger: Logger | undefined;
  deps: LockDeps & { now(): number };
  signal: AbortSignal | undefined;
}

const checkMs = (name: string, value: number) => {
  if (!Number.isFinite(value) || value < 0) {
    throw new CredbridgeError(
      `writer: lock.${name} must be a non-negative number of milliseconds, got ${value}`,
      {
        code: "ERR_CONFIG",
      },
    );
  }
};

/** Every option resolved and checked: option, then the injected environment, then the default. */
export const resolveFileRequest = (kind: FileKind, options: SharedFileOptions): FileRequest => {
  const rt = resolveRuntime(options.runtime);
  const env = options.env ?? options.runtime?.env ?? process.env;
  const lock = lockSettings(options.lock);
  checkMs("staleMs", lock.staleMs);
  checkMs("timeoutMs", lock.timeoutMs);
  return {
    path: resolveFilePath(kind, { path: options.path, env, homedir: options.homedir }),
    profile: checkProfileName(options.profile ?? "default"),
    mode: checkMode("mode", options.mode, 0o600),
    dirMode: checkMode("dirMode", options.dirMode, 0o700),
    owner: parseOwner(options.owner),
    lock,
    fs: options.fs ?? nodeFs,
    logger: options.logger ?? rt.logger,
    deps: {
      now: rt.now,
      // The lock's waits run on the monotonic clock: a runtime's own, else (a test
      // runtime that gives only `now`) its `now`, else Node's.
      monotonic: options.runtime?.monotonicNow ?? options.runtime?.now ?? rt.monotonicNow,
      sleep: (ms, signal) => rt.sleep(ms, signal),
      random: rt.random,
    },
    signal: options.signal,
  };
};
