import type { Runtime } from "@credbridge/core";
import type { CommandFlags, CommandName } from "./args/flags.js";
import type { ParsedFlags } from "./args/parse.js";
import type { JsonLogger } from "./log.js";

/**
 * What every command runs with: injected so tests run commands in process. `F`, its flags:
 * a command's own (see {@link Command}), or the subset a helper shared by several reads.
 */
export interface CommandContext<F = ParsedFlags> {
  command: string;
  flags: F;
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

/** The command named `C`, run with the flags its table defines. */
export type Command<C extends CommandName> = (ctx: CommandContext<CommandFlags<C>>) => Promise<number>;

/** The parts of core's runtime that tell time. */
export type ClockOptions = Partial<Pick<Runtime, "now" | "monotonicNow" | "setTimer" | "sleep">>;
