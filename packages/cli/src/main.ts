import { describeUnknown, describeUnlisted, unknownVariables } from "./args/env-names.js";
import type { CommandName, CommonFlags } from "./args/flags.js";
import { parseCommandLine } from "./args/parse.js";
import { commandUsage, generalUsage } from "./args/usage.js";
import { UsageError } from "./args/usage-error.js";
import type { ClockOptions, Command, CommandContext } from "./context.js";
import { isLogLevel, jsonLogger, type LogLevel, routeProcessWarnings } from "./log.js";
import { printable } from "./printable.js";
import { version } from "./version.js";

/** Commands load on demand: `process` must not pay for the AWS SDK on a cache hit. */
const COMMAND_MODULES: { [C in CommandName]: () => Promise<Command<C>> } = {
  serve: async () => (await import("./commands/serve.js")).serveCommand,
  write: async () => (await import("./commands/write.js")).writeCommand,
  process: async () => (await import("./commands/process.js")).processCommand,
  doctor: async () => (await import("./commands/doctor.js")).doctorCommand,
  "trust-policy": async () => (await import("./commands/trust-policy.js")).trustPolicyCommand,
  "permission-policy": async () => (await import("./commands/permission-policy.js")).permissionPolicyCommand,
  webhook: async () => (await import("./commands/webhook.js")).webhookCommand,
};

export interface MainIo {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now?: () => number;
  /** Clocks and timers for what the command runs (its `now` wins over `now`); Node's by default. */
  clock?: ClockOptions;
  stopSignal?: AbortSignal;
  onReload?: (listener: () => void) => void;
  /** Route Node process warnings into the JSON log (the real binary does; tests do not). */
  captureWarnings?: boolean;
}

/**
 * Runs one credbridge command and returns its exit code: 0 done, 1 failed,
 * 2 usage. Errors become one line on stderr; nothing is printed on stdout then.
 */
export const main = async (io: MainIo): Promise<number> => {
  let command = "credbridge";
  /** Whether the unknown variables were logged already: a later usage error need not repeat them. */
  let warned = false;
  try {
    const parsed = parseCommandLine(io.argv, io.env);
    command = parsed.command;
    if (parsed.command === "help") {
      io.stdout(`${generalUsage()}\n`);
      return 0;
    }
    if (parsed.command === "version") {
      io.stdout(`${version()}\n`);
      return 0;
    }
    const common: CommonFlags = parsed.flags;
    if (common.help === true) {
      io.stdout(`${commandUsage(parsed.command)}\n`);
      return 0;
    }
    const levelFlag = common["log-level"];
    if (levelFlag !== undefined && !isLogLevel(levelFlag)) {
      throw new UsageError(
        `--log-level must be debug, info, warn or error; got "${String(levelFlag)}"`,
        command,
      );
    }
    // Helpers whose stderr a parent tool shows (credential_process) stay quiet unless asked.
    const quiet = parsed.command === "process";
    const level: LogLevel = levelFlag ?? (quiet ? "error" : "info");
    const logger = jsonLogger(level, io.stderr);
    if (io.captureWarnings) routeProcessWarnings(logger, quiet ? "debug" : "warn");
    // A mistyped variable is otherwise ignored in silence (a sidecar started
    // without the output it was meant to have): said first, and with a usage error.
    const unknown = unknownVariables(io.env);
    for (const v of unknown.listed) {
      logger.log("warn", describeUnknown(v), {
        variable: v.name,
        ...(v.closest ? { closest: v.closest } : {}),
      });
    }
    if (unknown.unlisted > 0)
      logger.log("warn", describeUnlisted(unknown.unlisted), { unlisted: unknown.unlisted });
    warned = true;
    const ctx: CommandContext = {
      command: parsed.command,
      flags: parsed.flags,
      origins: parsed.origins,
      env: io.env,
      stdout: io.stdout,
      stderr: io.stderr,
      logger,
      now: io.clock?.now ?? io.now ?? Date.now,
      clock: io.clock ?? {},
      stopSignal: io.stopSignal ?? new AbortController().signal,
      onReload: io.onReload ?? (() => {}),
    };
    // The parser refused any other command, and built the flags from this one's table.
    const run = await COMMAND_MODULES[parsed.command as CommandName]();
    return await run(ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      const unknown = warned ? { listed: [], unlisted: 0 } : unknownVariables(io.env);
      const notes = [
        ...unknown.listed.map(describeUnknown),
        ...(unknown.unlisted > 0 ? [describeUnlisted(unknown.unlisted)] : []),
      ].map((line) => `credbridge: ${line}\n`);
      io.stderr(
        `credbridge: ${printable(error.message)}\n${notes.join("")}\n${error.command ? commandUsage(error.command) : generalUsage()}\n`,
      );
      return 2;
    }
    // The libraries' messages start with "credbridge: " for their own users; said once here.
    const message = ((error as Error)?.message ?? String(error)).replace(/^credbridge: /, "");
    io.stderr(`credbridge ${command}: ${printable(message.replace(/\s*\n\s*/g, " "))}\n`);
    return 1;
  }
};
