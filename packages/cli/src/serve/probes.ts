import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { isCredbridgeError, type RefreshState, WALL_CLOCK_CHECK_MS } from "@credbridge/core";
import { parseAuthorizationToken } from "@credbridge/core/wire";

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

/** Larger than any token: a file this big is not one. */
const MAX_TOKEN_FILE_BYTES = 16 * 1024;

/**
 * Readiness of the container endpoint's token file: a regular file holding a
 * token the server accepts (the same rule), or every request would get a 500.
 * O_NONBLOCK and the regular-file check: a FIFO swapped in by whoever shares
 * the volume must not block the probe, let alone the process.
 */
export const tokenFileReadiness = (path: string): ProbeResult => {
  const where = `the container token file ${path}`;
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, reason: `${where} is not a regular file` };
    if (st.size > MAX_TOKEN_FILE_BYTES) return { ok: false, reason: `${where} is larger than any token` };
    parseAuthorizationToken(readFileSync(fd, "utf8"), where);
    return OK;
  } catch (error) {
    if (isCredbridgeError(error)) return { ok: false, reason: error.message };
    return { ok: false, reason: `${where} cannot be read (${(error as { code?: string }).code ?? "error"})` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
};
