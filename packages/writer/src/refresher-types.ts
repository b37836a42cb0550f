import type { RefreshingOptions, RefreshingProvider, RefreshState } from "@credbridge/core";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import type { WriteCredentialsOptions } from "./write-credentials.js";

export interface StartRefresherOptions extends WriteCredentialsOptions {
  /**
   * Refresh windows, jitter and retries of core's engine, used when `provider`
   * is not already a refreshing provider. Defaults: refresh from 15 min before
   * expiry, with up to 60 s of jitter.
   */
  refresh?: Omit<RefreshingOptions, "observer"> | undefined;
  /**
   * Credentials with less than this many seconds left are never written: not
   * at first, not on a retry after a failed write (they wait for new ones from
   * the engine instead). Give it the margin the other outputs of the same
   * engine keep. Default: `refresh.minRemainingSeconds`, else 0.
   */
  minRemainingSeconds?: number | undefined;
  /** Backoff between failed writes. Default 1 s doubling to 60 s, with jitter. */
  retry?: { initialDelayMs?: number | undefined; maxDelayMs?: number | undefined } | undefined;
  /** Called with every write outcome; for metrics. Never given a secret. */
  observer?: ((event: RefresherEvent) => void) | undefined;
  /** On `stop()`, remove the profile from the file so no credentials are left behind. Default false. */
  removeOnStop?: boolean | undefined;
  /**
   * Further profiles kept fresh in the same file, each from its own provider
   * (engine), beside `profile`: every write carries whatever any of them has
   * new, in one locked atomic write, so no profile's refresh ever tears or
   * drops another's section. A profile whose engine fails keeps the section
   * it was last written with.
   */
  profiles?: readonly { profile: string; provider: AwsCredentialIdentityProvider }[] | undefined;
  /**
   * Remove a profile's section once the credentials it holds have expired
   * and no write could replace them, so the file never serves expired
   * credentials (an SDK then finds no such profile instead). Sections another
   * writer renewed meanwhile are kept. Default false: the section stays, and
   * the expiry is logged as an error.
   */
  removeExpired?: boolean | undefined;
}

/** One profile's part of a {@link RefresherStatus}. Holds no secret. */
export interface ProfileWriteStatus {
  profile: string;
  lastWriteAt: Date | undefined;
  expirationWritten: Date | undefined;
  /** The last failure that concerned this profile, cleared by its next write. */
  lastError: { message: string; code: string | undefined; at: Date } | undefined;
  /** Written, holding credentials with more than the margin left. */
  healthy: boolean;
  refresh: RefreshState;
}

export type RefresherEvent =
  | { type: "write-success"; path: string; profile: string; at: Date; expiration: Date | undefined }
  | {
      type: "write-failure";
      path: string;
      profile: string;
      at: Date;
      error: Error;
      consecutiveFailures: number;
      /** When the write is tried again; undefined when it waits for new credentials instead. */
      retryAt: Date | undefined;
    }
  | { type: "file-expired"; path: string; profile: string; at: Date; expiration: Date };

/** A snapshot for health checks. Holds no secret. */
export interface RefresherStatus {
  path: string;
  profile: string;
  /** Last successful write. */
  lastWriteAt: Date | undefined;
  /**
   * Expiration of the credentials the file now holds; undefined before the first write or when they never expire.
   * Before the first write, the expiry of the section a previous process left there, once read at start.
   */
  expirationWritten: Date | undefined;
  lastError: { message: string; code: string | undefined; at: Date } | undefined;
  writes: number;
  failures: number;
  consecutiveFailures: number;
  /** A write is in progress. */
  writing: boolean;
  stopped: boolean;
  /**
   * Written at least once, and what the file holds has more than
   * `minRemainingSeconds` left: the margin every output keeps, so a file the
   * writer could not renew in time (a lock held by another writer, a full
   * disk) stops counting as healthy when IMDS would stop serving the same
   * credentials, not only once they have expired.
   */
  healthy: boolean;
  /** The margin `healthy` keeps, in seconds. */
  minRemainingSeconds: number;
  /** The refresh engine's own state. */
  refresh: RefreshState;
  /** Every profile the refresher keeps, `profile` first; `healthy` above is all of theirs. */
  profiles: ProfileWriteStatus[];
}

export interface RefresherStopOptions {
  /**
   * Bounds the stop: once aborted, a write still waiting for the file's lock,
   * and the removal of the profile, give up their wait (ERR_ABORTED), leaving
   * nothing of theirs behind (no lock, no queue ticket). A shutdown budget.
   */
  signal?: AbortSignal | undefined;
}

export interface RefresherStopResult {
  /**
   * With `removeOnStop`: whether the profile is gone from the file (true when
   * it was not there either); false when the removal failed or was given up,
   * and the file still holds the credentials. Undefined without `removeOnStop`.
   */
  profileRemoved: boolean | undefined;
}

export interface RefresherHandle {
  status(): RefresherStatus;
  /** Resolves after the first successful write; rejects if stopped before one. */
  ready(): Promise<void>;
  /**
   * Stops writing, waits for an in-flight write, and removes the profile if
   * `removeOnStop`. Stops the refresh engine's timer when the refresher made the
   * engine; a refreshing provider passed in keeps running for its other users.
   * Resolves (never rejects) with whether the profile was removed.
   */
  stop(options?: RefresherStopOptions): Promise<RefresherStopResult>;
  /** The refresh engine the refresher writes from (the engine of `profile`). */
  readonly engine: RefreshingProvider;
}
