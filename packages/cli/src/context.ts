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
  /** Resolves when the process is asked to stop (SIGTERM, SIGINT). */
  stopSignal: AbortSignal;
  /** Fires on SIGHUP: force a refresh. */
  onReload: (listener: () => void) => void;
}

export type Command = (ctx: CommandContext) => Promise<number>;
