import { backoffDelay, CredbridgeError, resolveRuntime } from "@credbridge/core";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { adoptSections } from "./internal/adopt-sections.js";
import { watchExpiry } from "./internal/expiry-watchdog.js";
import { resolveFileRequest } from "./internal/file-request.js";
import {
  afterFailedWrite,
  backoffBeforeWrite,
  dueForRemoval,
  failureVerdict,
  isHealthy,
  nextStep,
  notSuperseded,
  sortQueued,
} from "./internal/refresher-decision.js";
import { createReporter } from "./internal/refresher-report.js";
import { createSlots, type Slot, slotNamed as slotIn } from "./internal/refresher-slots.js";
import { createWriteLedger, lastErrorOf, recordWriteFailure } from "./internal/write-ledger.js";
import type {
  RefresherHandle,
  RefresherStopOptions,
  RefresherStopResult,
  StartRefresherOptions,
} from "./refresher-types.js";
import { removeProfiles } from "./remove-profile.js";
import { type ProfileCredentials, type WriteCredentialsOptions, writeProfiles } from "./write-credentials.js";

/**
 * Keeps a profile of the shared credentials file fresh for applications whose
 * SDK only reads `~/.aws/credentials`: writes once the first credentials
 * arrive, then again each time the refresh engine fetches new ones (inside its
 * advisory window, with jitter). A failed write is retried with backoff, and
 * the loop never dies on an error; a file left holding expired credentials is
 * logged as an error. Throws a CredbridgeError at once for invalid options.
 */
export const startRefresher = (
  provider: AwsCredentialIdentityProvider,
  options: StartRefresherOptions = {},
): RefresherHandle => {
  if (typeof provider !== "function") {
    throw new CredbridgeError("writer: startRefresher needs a credential provider function", {
      code: "ERR_CONFIG",
    });
  }
  const rt = resolveRuntime(options.runtime);
  const logger = options.logger ?? rt.logger;
  // Resolve once, so the file and profile cannot drift with the environment.
  const { path, profile } = resolveFileRequest("credentials", options);
  // Aborted when stop() is told to give up: a write waiting for the lock then stops waiting.
  const giveUp = new AbortController();
  const writeSignal = options.signal ? AbortSignal.any([giveUp.signal, options.signal]) : giveUp.signal;
  const retry = {
    initialDelayMs: options.retry?.initialDelayMs ?? 1_000,
    maxDelayMs: options.retry?.maxDelayMs ?? 60_000,
  };
  const minRemainingSeconds = options.minRemainingSeconds ?? options.refresh?.minRemainingSeconds ?? 0;
  if (!Number.isFinite(minRemainingSeconds) || minRemainingSeconds < 0) {
    throw new CredbridgeError(
      `writer: minRemainingSeconds must be a non-negative number of seconds, got ${minRemainingSeconds}`,
      { code: "ERR_CONFIG" },
    );
  }
  // The writer re-checks the margin under the lock, just before its rename.
  const writeOptions: WriteCredentialsOptions = {
    ...options,
    path,
    profile,
    minRemainingSeconds,
    signal: writeSignal,
  };

  const slots = createSlots(profile, provider, options, logger);
  const main = slots[0]!;
  const engine = main.engine;

  let stopped = false;
  const ledger = createWriteLedger();
  let writing = false;
  /** Credentials waiting to be written, by profile: every one goes out in the next write. */
  const pending = new Map<string, AwsCredentialIdentity>();
  /** Profiles whose written credentials expired, to remove (`removeExpired`). */
  const expiring = new Set<string>();
  let loop: Promise<void> | undefined;
  let wake: AbortController | undefined;
  const waiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  const slotNamed = (name: string): Slot => slotIn(slots, name);

  const report = createReporter(path, logger, options.observer);

  const fileExpired = (slot: Slot, expiration: Date) => {
    if (stopped) return;
    report.fileExpired(slot.profile, expiration, slot.lastError?.message, rt.now());
    if (options.removeExpired) {
      expiring.add(slot.profile);
      kick();
    }
  };
  const watch = (slot: Slot, expiration: Date | undefined) => watchExpiry(rt, slot, expiration, fileExpired);

  /** `held`: when the credentials the profile now holds expire (later ones another writer put there, maybe). */
  const succeeded = (slot: Slot, held: Date | undefined) => {
    const now = rt.now();
    ledger.consecutiveFailures = 0;
    slot.lastWriteAt = now;
    slot.lastError = undefined;
    slot.expirationWritten = held;
    watch(slot, held);
    report.wrote(slot.profile, held, now);
    if (slots.every((s) => s.lastWriteAt !== undefined)) for (const w of waiters.splice(0)) w.resolve();
  };

  /**
   * Records one failed write of `failing` (every profile it carried); returns
   * the backoff delay when `retry`, else undefined: the profiles wait for new
   * credentials instead.
   */
  const failed = (failing: readonly Slot[], error: Error, retrying: boolean): number | undefined => {
    const now = rt.now();
    recordWriteFailure(ledger, error, now);
    const delay = retrying ? backoffDelay(ledger.consecutiveFailures, rt.random, retry) : undefined;
    const retryAt = delay === undefined ? undefined : new Date(now + delay);
    for (const slot of failing) {
      slot.lastError = ledger.lastError;
      report.writeFailed({
        profile: slot.profile,
        error,
        consecutiveFailures: ledger.consecutiveFailures,
        retryAt,
        written: slot.expirationWritten,
        verdict: failureVerdict(slot, retryAt),
        now,
      });
    }
    return delay;
  };

  /** Removes the sections of `expiring` whose credentials are still the expired ones, in one write. */
  const dropExpired = async () => {
    const now = rt.now();
    const slotsDue = dueForRemoval([...expiring].map(slotNamed), now);
    expiring.clear();
    if (slotsDue.length === 0) return;
    writing = true;
    try {
      await removeProfiles(
        slotsDue.map((s) => s.profile),
        { ...options, path, signal: writeSignal, expiredBy: now },
      );
      ledger.removalFailures = 0;
      for (const slot of slotsDue) {
        const expired = slot.expirationWritten;
        slot.lastWriteAt = undefined;
        slot.expirationWritten = undefined;
        slot.lastError = {
          message: `its credentials expired at ${expired?.toISOString()} and were removed from the file`,
          code: "ERR_EXPIRED",
          at: new Date(rt.now()),
        };
        report.removedExpired(slot.profile, expired);
      }
    } catch (error) {
      ledger.removalFailures++;
      report.removalFailed(
        slotsDue.map((s) => s.profile),
        error as Error,
      );
      for (const slot of slotsDue) expiring.add(slot.profile);
      wake = new AbortController();
      await rt.sleep(backoffDelay(ledger.removalFailures, rt.random, retry), wake.signal).catch(() => {});
      wake = undefined;
    } finally {
      writing = false;
    }
  };

  const run = async () => {
    for (;;) {
      const step = nextStep({ stopped, queued: pending.size, expiring: expiring.size });
      if (step === "idle") return;
      if (step === "remove-expired") {
        await dropExpired();
        continue;
      }
      // Everything queued goes out in one locked write: one section per profile, never torn.
      const batch = new Map(pending);
      pending.clear();
      writing = true;
      let delay: number | undefined;
      let ready: ProfileCredentials[] = [];
      try {
        const sorted = sortQueued(batch, rt.now(), minRemainingSeconds);
        ready = sorted.write;
        for (const { profile: name, error } of sorted.refused) failed([slotNamed(name)], error, false);
        if (ready.length === 0) continue;
        const results = await writeProfiles(ready, writeOptions);
        ledger.writes++;
        results.forEach((result, i) => {
          succeeded(slotNamed(result.profile), result.expiration ?? ready[i]!.credentials.expiration);
        });
      } catch (cause) {
        const error = cause instanceof Error ? cause : new Error(String(cause));
        const next = afterFailedWrite(ready, error, rt.now(), minRemainingSeconds);
        if (next.action === "split") {
          for (const r of next.waitForNew) failed([slotNamed(r.profile)], error, false);
          for (const r of notSuperseded(next.writeAgain, pending)) pending.set(r.profile, r.credentials);
          continue;
        }
        delay = failed(
          ready.map((r) => slotNamed(r.profile)),
          error,
          next.action === "retry",
        );
        if (delay !== undefined) {
          for (const r of notSuperseded(ready, pending)) pending.set(r.profile, r.credentials);
        }
      } finally {
        writing = false;
      }
      const backoff = backoffBeforeWrite(delay, stopped, pending, batch);
      if (backoff !== undefined) {
        wake = new AbortController();
        await rt.sleep(backoff, wake.signal).catch(() => {
          // Woken early by new credentials or stop().
        });
        wake = undefined;
      }
    }
  };

  const kick = () => {
    loop ??= run().finally(() => {
      loop = undefined;
      // Credentials queued while the loop was winding down.
      if (nextStep({ stopped, queued: pending.size, expiring: expiring.size }) !== "idle") kick();
    });
  };

  const queue = (slot: Slot, credentials: AwsCredentialIdentity) => {
    if (stopped || credentials === slot.lastQueued) return;
    slot.lastQueued = credentials;
    pending.set(slot.profile, credentials);
    // New credentials cut a backoff short: they may well be writable now.
    wake?.abort();
    kick();
  };

  const adopting = adoptSections({ ...options, path, signal: writeSignal }, slots, {
    stopped: () => stopped,
    adopted: (slot) => watch(slot, slot.expirationWritten),
    failed: (error) => report.notAdopted(error),
  });

  for (const slot of slots) {
    slot.unsubscribe = slot.engine.subscribe((event) => {
      if (event.type === "refresh-success") queue(slot, event.credentials);
    });
    slot.engine.start();
    // A provider that already holds credentials emits nothing until its next refresh.
    slot.engine().then(
      (credentials) => queue(slot, credentials),
      () => {
        // The engine logs the failure and retries on its timer.
      },
    );
  }

  let stopping: Promise<RefresherStopResult> | undefined;
  const stop = (stopOptions: RefresherStopOptions = {}) => {
    const bound = stopOptions.signal;
    if (bound) {
      if (bound.aborted) giveUp.abort(bound.reason);
      else bound.addEventListener("abort", () => giveUp.abort(bound.reason), { once: true });
    }
    stopping ??= (async (): Promise<RefresherStopResult> => {
      stopped = true;
      for (const slot of slots) {
        if (slot.owned) slot.engine.stop();
        slot.unsubscribe();
        slot.watchdog?.cancel();
      }
      wake?.abort();
      await adopting;
      await loop;
      for (const w of waiters.splice(0)) {
        w.reject(
          new CredbridgeError(`writer: the refresher for ${path} was stopped before its first write`, {
            code: "ERR_CONFIG",
          }),
        );
      }
      if (!options.removeOnStop) return { profileRemoved: undefined };
      const names = slots.map((s) => s.profile);
      try {
        // Bounded by stop's signal alone: the caller's own (SIGTERM) has fired by now.
        await removeProfiles(names, { ...options, path, signal: giveUp.signal });
        return { profileRemoved: true };
      } catch (error) {
        ledger.lastError = lastErrorOf(error as Error, rt.now());
        report.notRemovedOnStop(names, error as Error);
        return { profileRemoved: false };
      }
    })();
    return stopping;
  };

  const healthyAt = (slot: Slot, now: number) => isHealthy(slot, stopped, now, minRemainingSeconds);

  return {
    engine,
    stop,
    ready: () =>
      slots.every((slot) => slot.lastWriteAt !== undefined)
        ? Promise.resolve()
        : stopped
          ? Promise.reject(
              new CredbridgeError(`writer: the refresher for ${path} is stopped`, { code: "ERR_CONFIG" }),
            )
          : new Promise<void>((resolve, reject) => waiters.push({ resolve, reject })),
    status: () => {
      const now = rt.now();
      const at = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));
      return {
        path,
        profile,
        lastWriteAt: at(main.lastWriteAt),
        expirationWritten: main.expirationWritten,
        lastError: ledger.lastError,
        writes: ledger.writes,
        failures: ledger.failures,
        consecutiveFailures: ledger.consecutiveFailures,
        writing,
        stopped,
        healthy: slots.every((slot) => healthyAt(slot, now)),
        minRemainingSeconds,
        refresh: engine.state(),
        profiles: slots.map((slot) => ({
          profile: slot.profile,
          lastWriteAt: at(slot.lastWriteAt),
          expirationWritten: slot.expirationWritten,
          lastError: slot.lastError,
          healthy: healthyAt(slot, now),
          refresh: slot.engine.state(),
        })),
      };
    },
  };
};
