import type { Runtime } from "@credbridge/core";
import type { ParsedFlags } from "./args/parse.js";
import type { JsonLogger } from "./log.js";

/** What every command runs with: injected so tests run commands in process. */
export interface CommandContext {
  command: string;
  flags: ParsedFlags;
  origins: Record<string, string>;
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  logger: JsonLogger;
  now: () => number;
  /**
   * The clocks and timers of the engines, writers and servers a command runs;
   * Node's where not given. Tests give their own to move the wall clock while
   * timers stand still, as a resumed VM does; the bin never does.
   */
  clock: ClockOptions;
  /** Resolves when the process is asked to stop (SIGTERM, SIGINT). */
  stopSignal: AbortSignal;
  /** Fires on SIGHUP: force a refresh. */
  onReload: (listener: () => void) => void;
}

export type Command = (ctx: CommandContext) => Promise<number>;

/** The parts of core's runtime that tell time. */
export type ClockOptions = Partial<Pick<Runtime, "now" | "monotonicNow" | "setTimer" | "sleep">>;
