import type { Runtime } from "@credbridge/core";
import type { AwsCredentialIdentity } from "@smithy/types";
import type { ProfileCredentials } from "../write-credentials.js";
import {
  afterFailedWrite,
  backoffBeforeWrite,
  dueForRemoval,
  nextStep,
  notSuperseded,
  sortQueued,
} from "./refresher-decision.js";
import { type Slot, slotNamed } from "./refresher-slots.js";
import type { OutcomeRecorder } from "./write-outcomes.js";

export interface WriteLoopDeps {
  rt: Pick<Runtime, "now" | "sleep">;
  slots: readonly Slot[];
  record: OutcomeRecorder;
  /** Credentials with less left than this are never written. */
  minRemainingSeconds: number;
  /** One locked write of these profiles' sections; when the credentials each now holds expire. */
  write(ready: ProfileCredentials[]): Promise<readonly { profile: string; expiration?: Date | undefined }[]>;
  /** One locked removal of these profiles' sections, each kept if renewed after `expiredBy`. */
  remove(profiles: string[], expiredBy: number): Promise<unknown>;
  stopped(): boolean;
}

/**
 * The refresher's one loop: it writes whatever credentials are queued, all
 * profiles in one locked write, retries a failed write with backoff, and
 * removes sections left expired; one step at a time, never two writes at
 * once, and it never dies on an error. What to do is refresher-decision.ts's;
 * how it went is recorded by write-outcomes.ts.
 */
export const createWriteLoop = (deps: WriteLoopDeps) => {
  const { rt, record, minRemainingSeconds } = deps;
  const slot = (name: string): Slot => slotNamed(deps.slots, name);
  /** Credentials waiting to be written, by profile: every one goes out in the next write. */
  const pending = new Map<string, AwsCredentialIdentity>();
  /** Profiles whose written credentials expired, to remove (`removeExpired`). */
  const expiring = new Set<string>();
  let writing = false;
  let loop: Promise<void> | undefined;
  /** Aborted to cut a backoff short: by new credentials, or stop(). */
  let wake: AbortController | undefined;

  const pause = async (ms: number) => {
    wake = new AbortController();
    await rt.sleep(ms, wake.signal).catch(() => {
      // Woken early by new credentials or stop().
    });
    wake = undefined;
  };

  const next = () => nextStep({ stopped: deps.stopped(), queued: pending.size, expiring: expiring.size });

  /** Removes the sections of `expiring` whose credentials are still the expired ones, in one write. */
  const removeExpired = async () => {
    const now = rt.now();
    const due = dueForRemoval([...expiring].map(slot), now);
    expiring.clear();
    if (due.length === 0) return;
    writing = true;
    try {
      await deps.remove(
        due.map((s) => s.profile),
        now,
      );
      record.removed(due);
    } catch (error) {
      const delay = record.removalFailed(due, error as Error);
      for (const s of due) expiring.add(s.profile);
      await pause(delay);
    } finally {
      writing = false;
    }
  };

  /** Everything queued goes out in one locked write: one section per profile, never torn. */
  const writeQueued = async () => {
    const batch = new Map(pending);
    pending.clear();
    writing = true;
    let delay: number | undefined;
    let ready: ProfileCredentials[] = [];
    try {
      const sorted = sortQueued(batch, rt.now(), minRemainingSeconds);
      ready = sorted.write;
      for (const { profile, error } of sorted.refused) record.failed([slot(profile)], error, false);
      if (ready.length === 0) return;
      const results = await deps.write(ready);
      record.wrote(
        results.map((result, i) => ({
          slot: slot(result.profile),
          held: result.expiration ?? ready[i]!.credentials.expiration,
        })),
      );
    } catch (cause) {
      const error = cause instanceof Error ? cause : new Error(String(cause));
      const after = afterFailedWrite(ready, error, rt.now(), minRemainingSeconds);
      if (after.action === "split") {
        for (const r of after.waitForNew) record.failed([slot(r.profile)], error, false);
        for (const r of notSuperseded(after.writeAgain, pending)) pending.set(r.profile, r.credentials);
        return;
      }
      delay = record.failed(
        ready.map((r) => slot(r.profile)),
        error,
        after.action === "retry",
      );
      if (delay !== undefined) {
        for (const r of notSuperseded(ready, pending)) pending.set(r.profile, r.credentials);
      }
    } finally {
      writing = false;
    }
    const backoff = backoffBeforeWrite(delay, deps.stopped(), pending, batch);
    if (backoff !== undefined) await pause(backoff);
  };

  const run = async () => {
    for (let step = next(); step !== "idle"; step = next()) {
      if (step === "remove-expired") await removeExpired();
      else await writeQueued();
    }
  };

  const kick = () => {
    loop ??= run().finally(() => {
      loop = undefined;
      // Credentials queued while the loop was winding down.
      if (next() !== "idle") kick();
    });
  };

  return {
    /** Queues new credentials of `s`'s profile; the same ones again are ignored. */
    queue(s: Slot, credentials: AwsCredentialIdentity): void {
      if (deps.stopped() || credentials === s.lastQueued) return;
      s.lastQueued = credentials;
      pending.set(s.profile, credentials);
      // New credentials cut a backoff short: they may well be writable now.
      wake?.abort();
      kick();
    },
    /** `profile`'s section expired with nothing to replace it: remove it (`removeExpired`). */
    expire(profile: string): void {
      expiring.add(profile);
      kick();
    },
    /** Cuts a backoff short, for stop(). */
    interrupt(): void {
      wake?.abort();
    },
    /** The loop running now, if any: stop() waits for its write. */
    running: (): Promise<void> | undefined => loop,
    writing: (): boolean => writing,
  };
};
