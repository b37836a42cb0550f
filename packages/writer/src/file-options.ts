import type * as fs from "node:fs";
import type { RuntimeOptions } from "@credbridge/core";
import type { Logger } from "@smithy/types";

/**
 * The part of `node:fs` the writer uses. Inject a wrapper to simulate ENOSPC,
 * EROFS or EACCES without root or a special file system.
 *
 * Synchronous on purpose: the read-merge-write runs while holding a lock that
 * other processes wait for, and synchronous calls keep it held for about a
 * millisecond even when the CPU is busy, where a chain of ~17 thread-pool hops
 * took 15-30 ms under load. Only the lock wait is asynchronous.
 */
export type WriterFs = Pick<
  typeof fs,
  | "openSync"
  | "closeSync"
  | "fstatSync"
  | "readSync"
  | "writeFileSync"
  | "fsyncSync"
  | "fchmodSync"
  | "fchownSync"
  | "renameSync"
  | "unlinkSync"
  | "readdirSync"
  | "lstatSync"
  | "statSync"
  | "mkdirSync"
  | "rmdirSync"
  | "readlinkSync"
>;

/** The user and group a written file (and any directory created for it) is given. */
export interface FileOwner {
  uid: number;
  gid: number;
}

export interface FileLockOptions {
  /**
   * A lock a waiting writer has seen unchanged for this long (on its own
   * monotonic clock, never by comparing the lock's time with a clock) is
   * considered left behind by a dead (or stalled) writer and taken over; a
   * stalled writer that wakes after that finds it lost the lock and fails with
   * ERR_LOCKED instead of replacing the newer file. The lock is held only for
   * one synchronous read-merge-write, so this must merely outlast the slowest
   * fsync. Minimum 2 000. Default 10 000.
   */
  staleMs?: number | undefined;
  /** Give up waiting for the lock after this long. Default twice `staleMs`, so a dead writer's lock is always outlived. */
  timeoutMs?: number | undefined;
}

/** Options every file operation of the writer takes. */
export interface SharedFileOptions {
  /**
   * The file to write. Default: `AWS_SHARED_CREDENTIALS_FILE` (credentials) or
   * `AWS_CONFIG_FILE` (config), else `~/.aws/credentials` or `~/.aws/config`.
   * A leading `~/` is expanded as the AWS SDKs do.
   */
  path?: string | undefined;
  /** The profile to write. Default `default`. */
  profile?: string | undefined;
  /** Permission bits of the written file, whatever the umask. Default 0o600. */
  mode?: number | undefined;
  /** Permission bits of directories created for the file. Default 0o700. */
  dirMode?: number | undefined;
  /**
   * Owner of the written file and of the directories created for it: `{ uid, gid }`
   * or `"uid:gid"`. Needed when the writer runs as root and the application as
   * another user. Default: the owner of the file being replaced, else the writer's user.
   */
  owner?: FileOwner | string | undefined;
  lock?: FileLockOptions | undefined;
  /** Environment the default path is read from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Home directory for the default path and `~/`. Default `env.HOME`, else `os.homedir()`. */
  homedir?: string | undefined;
  /** File system. Default `node:fs`. */
  fs?: WriterFs | undefined;
  /** Optional logger with the AWS SDK's shape. Never given a secret. */
  logger?: Logger | undefined;
  /**
   * Clock, sleep and randomness (lock waits, expiry checks). Default Node's. The
   * lock measures its waits on `runtime.monotonicNow` (Node's `performance.now()`
   * by default), or on `runtime.now` when a runtime gives only that (tests).
   */
  runtime?: RuntimeOptions | undefined;
  /**
   * Stops waiting for the lock when aborted (SIGTERM): the call rejects with
   * ERR_ABORTED and leaves nothing behind. Once the lock is taken, the short
   * synchronous update runs to its end.
   */
  signal?: AbortSignal | undefined;
}

/** What a successful write reports. */
export interface WriteResult {
  /** Absolute path of the file written. */
  path: string;
  profile: string;
  /** Whether the file was replaced; false when there was nothing to change. */
  changed: boolean;
  /**
   * `writeCredentials` only: when the credentials the profile now holds
   * expire. Those just given, or, when `changed` is false, the later ones the
   * profile already held; undefined for credentials that never expire.
   */
  expiration?: Date | undefined;
}
