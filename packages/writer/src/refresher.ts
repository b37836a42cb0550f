import { CredbridgeError, resolveRuntime } from "@credbridge/core";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { adoptSections } from "./internal/adopt-sections.js";
import { watchExpiry } from "./internal/expiry-watchdog.js";
import { resolveFileRequest } from "./internal/file-request.js";
import { resolveRefresherOptions } from "./internal/refresher-options.js";
import { createReporter } from "./internal/refresher-report.js";
import { createSlots, everyWritten, type Slot } from "./internal/refresher-slots.js";
import { refresherStatus } from "./internal/refresher-status.js";
import { createWriteLedger, lastErrorOf } from "./internal/write-ledger.js";
import { createWriteLoop } from "./internal/write-loop.js";
import { createOutcomeRecorder } from "./internal/write-outcomes.js";
import type {
  RefresherHandle,
  RefresherStopOptions,
  RefresherStopResult,
  StartRefresherOptions,
} from "./refresher-types.js";
import { removeProfiles } from "./remove-profile.js";
import { type WriteCredentialsOptions, writeProfiles } from "./write-credentials.js";

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
  const { retry, minRemainingSeconds } = resolveRefresherOptions(options);
  const fileOptions = { ...options, path, signal: writeSignal };
  // The writer re-checks the margin under the lock, just before its rename.
  const writeOptions: WriteCredentialsOptions = { ...fileOptions, profile, minRemainingSeconds };

  const slots = createSlots(profile, provider, options, logger);
  const engine = slots[0]!.engine;

  let stopped = false;
  const ledger = createWriteLedger();
  const report = createReporter(path, logger, options.observer);
  const waiters: Array<{ resolve(): void; reject(error: Error): void }> = [];

  const fileExpired = (slot: Slot, expiration: Date) => {
    if (stopped) return;
    report.fileExpired(slot.profile, expiration, slot.lastError?.message, rt.now());
    if (options.removeExpired) loop.expire(slot.profile);
  };
  const watch = (slot: Slot, expiration: Date | undefined) => watchExpiry(rt, slot, expiration, fileExpired);
  const record = createOutcomeRecorder({
    rt,
    slots,
    ledger,
    report,
    retry,
    watch,
    allWritten: () => {
      for (const w of waiters.splice(0)) w.resolve();
    },
  });
  const loop = createWriteLoop({
    rt,
    slots,
    record,
    minRemainingSeconds,
    write: (ready) => writeProfiles(ready, writeOptions),
    remove: (names, expiredBy) => removeProfiles(names, { ...fileOptions, expiredBy }),
    stopped: () => stopped,
  });

  const adopting = adoptSections(fileOptions, slots, {
    stopped: () => stopped,
    adopted: (slot) => watch(slot, slot.expirationWritten),
    failed: (error) => report.notAdopted(error),
  });

  for (const slot of slots) {
    slot.unsubscribe = slot.engine.subscribe((event) => {
      if (event.type === "refresh-success") loop.queue(slot, event.credentials);
    });
    slot.engine.start();
    // A provider that already holds credentials emits nothing until its next refresh.
    slot.engine().then(
      (credentials) => loop.queue(slot, credentials),
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
      loop.interrupt();
      await adopting;
      await loop.running();
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

  return {
    engine,
    stop,
    ready: () =>
      everyWritten(slots)
        ? Promise.resolve()
        : stopped
          ? Promise.reject(
              new CredbridgeError(`writer: the refresher for ${path} is stopped`, { code: "ERR_CONFIG" }),
            )
          : new Promise<void>((resolve, reject) => waiters.push({ resolve, reject })),
    status: () =>
      refresherStatus({
        path,
        profile,
        slots,
        ledger,
        writing: loop.writing(),
        stopped,
        minRemainingSeconds,
        now: rt.now(),
      }),
  };
};
