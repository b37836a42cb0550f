import { isCredbridgeError, type RefreshState, WALL_CLOCK_CHECK_MS } from "@credbridge/core";
import { describeFileError, readTrustedFileSync } from "@credbridge/core/files";
import { parseAuthorizationToken } from "@credbridge/core/wire";
import type { RefresherStatus } from "@credbridge/writer";

/** What a probe answers: ok, or why not (never a secret). */
export interface ProbeResult {
  ok: boolean;
  reason: string;
}

const OK: ProbeResult = { ok: true, reason: "ok" };

/**
 * Slack past each deadline before the engine counts as wedged: three of its
 * wall-clock checks, so a timer late on a loaded host never looks like one.
 */
export const WEDGED_AFTER_MS = 3 * WALL_CLOCK_CHECK_MS;

const seconds = (ms: number) => Math.round(ms / 1000);

/**
 * Liveness: whether the refresh engine can still make progress by itself — a
 * failing upstream is not a reason (a restart would not fix it; readiness
 * says so), a stuck engine is:
 * - a refresh attempt running well past the deadline the engine puts on it
 *   (the deadline did not free the single flight);
 * - the engine's timer well past the moment it should have fired (its timers
 *   no longer run, so no refresh will ever start).
 * Both are measured on the monotonic clock, so a wall-clock step or a resumed
 * host never looks like either. Pure: the engine's state in, the answer out.
 */
export const engineLiveness = (state: RefreshState): ProbeResult => {
  const running = state.refreshingForMs;
  if (running !== undefined && running > state.attemptTimeoutMs + WEDGED_AFTER_MS) {
    return {
      ok: false,
      reason: `refresh engine wedged: an attempt has run ${seconds(running)} s, past its ${seconds(state.attemptTimeoutMs)} s deadline`,
    };
  }
  const late = state.timerLateMs;
  if (state.started && late !== undefined && late > WEDGED_AFTER_MS) {
    return {
      ok: false,
      reason: `refresh engine wedged: its timer is ${seconds(late)} s late, so no refresh will start`,
    };
  }
  return OK;
};

/** Larger than any token: a file this big is not one (as the container server reads it). */
const MAX_TOKEN_FILE_BYTES = 16 * 1024;

/**
 * Readiness of the container endpoint's token file, by the server's own rules:
 * one it can trust (see core's `readTrustedFile`: this user's, root's or
 * `owners`', closed to others, no link others could have planted), a regular
 * file of at most 16 KiB holding a token the server accepts, or every request
 * would get a 500. Synchronous, as the metrics render it, and safe to be: a
 * FIFO swapped in by whoever shares the volume is refused without a read
 * (opened non-blocking, not a regular file), and the read stops at 16 KiB
 * whatever the file says of its size (a link to /proc/self/pagemap held the
 * probe 12 s, then took the process's memory).
 */
export const tokenFileReadiness = (path: string, owners: readonly number[] = []): ProbeResult => {
  const where = `the container token file ${path}`;
  try {
    const { bytes } = readTrustedFileSync(path, { owners, maxBytes: MAX_TOKEN_FILE_BYTES });
    parseAuthorizationToken(bytes.toString("utf8"), where);
    return OK;
  } catch (error) {
    if (isCredbridgeError(error)) return { ok: false, reason: error.message };
    return { ok: false, reason: `${where} is refused: ${describeFileError(error)}` };
  }
};

/**
 * Readiness of the credentials file: written, and holding credentials outside
 * the margin every output keeps (IMDS stops serving the same credentials at
 * that moment; a file the writer could not renew is no better). Pure.
 */
export const fileReadiness = (status: RefresherStatus, now: number): ProbeResult => {
  if (status.healthy) return OK;
  // Several profiles in the file: the first one not healthy, named.
  if (status.profiles !== undefined && status.profiles.length > 1) {
    const failing = status.profiles.find((p) => !p.healthy);
    if (failing !== undefined) {
      const r = fileReadiness(
        {
          ...status,
          ...failing,
          lastError: failing.lastError,
          healthy: false,
          profiles: undefined as unknown as RefresherStatus["profiles"],
        },
        now,
      );
      return { ok: false, reason: `profile ${failing.profile}: ${r.reason}` };
    }
  }
  const failing = status.lastError ? `; the last write failed: ${status.lastError.message}` : "";
  if (status.lastWriteAt === undefined) {
    return { ok: false, reason: `the credentials file ${status.path} is not written yet${failing}` };
  }
  const left = status.expirationWritten
    ? `${Math.max(0, Math.floor((status.expirationWritten.getTime() - now) / 1000))} s left`
    : "no expiry";
  return {
    ok: false,
    reason: `the credentials file ${status.path} holds credentials with ${left}, inside the ${status.minRemainingSeconds} s every output keeps${failing}`,
  };
};
