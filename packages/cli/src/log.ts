import type { Logger } from "@smithy/types";

export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const isLogLevel = (value: unknown): value is LogLevel => typeof value === "string" && value in RANK;

/** A logger with the AWS SDK's shape that also takes structured fields. */
export interface JsonLogger extends Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

const text = (args: unknown[]): string =>
  args.map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a))).join(" ");

/**
 * One JSON object per line on the given stream (stderr for the sidecar), so log
 * shippers parse every line. Callers pass messages built without secrets; keys
 * appear only masked by core's `maskAccessKeyId`.
 */
export const jsonLogger = (
  level: LogLevel,
  write: (line: string) => void,
  now: () => Date = () => new Date(),
): JsonLogger => {
  const threshold = RANK[level];
  const log = (at: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[at] < threshold) return;
    write(`${JSON.stringify({ time: now().toISOString(), level: at, msg, ...fields })}\n`);
  };
  return {
    log,
    debug: (...args) => log("debug", text(args)),
    info: (...args) => log("info", text(args)),
    warn: (...args) => log("warn", text(args)),
    error: (...args) => log("error", text(args)),
  };
};

/**
 * Node prints process warnings (the AWS SDK's multi-line NodeVersionSupportWarning
 * on Node 20) as raw text on stderr; turn each into one log line instead.
 */
export const routeProcessWarnings = (logger: JsonLogger, level: LogLevel = "warn"): void => {
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    logger.log(level, warning.message.replace(/\s+/g, " ").trim(), { warning: warning.name });
  });
};
