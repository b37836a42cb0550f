import { parseArgs } from "../builtins.js";
import { fileModeProblem, fileOwnerProblem } from "./file-owner.js";
import { COMMANDS, envNameOf, type FlagSpec } from "./flags.js";
import { roleArnProblem } from "./role-arn.js";
import { UsageError } from "./usage-error.js";

export type FlagValue = string | boolean | number | string[];
export type ParsedFlags = Record<string, FlagValue | undefined>;

export interface ParsedCommand {
  command: string;
  flags: ParsedFlags;
  /** Where each flag's value came from: "argv" or its CREDBRIDGE_* variable. */
  origins: Record<string, string>;
}

/** How a user wrote a flag's value: `--flag`, or its CREDBRIDGE_* variable. */
const where = (flag: string, origin: string): string => (origin === "argv" ? `--${flag}` : origin);

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

const fromEnv = (flag: string, spec: FlagSpec, raw: string, command: string): FlagValue => {
  const name = envNameOf(flag);
  if (spec.type === "boolean") {
    const v = raw.trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    throw new UsageError(`${name} must be true or false, got ${JSON.stringify(raw)}`, command);
  }
  if (spec.type === "list") return raw.split(/\s+/).filter(Boolean);
  // As booleans and lists are read: what a YAML block scalar (`|`) gives a pod's env ends in
  // a newline no one meant, and no value of ours starts or ends with white space.
  return raw.trim();
};

/**
 * Values a flag refuses whatever command reads it, checked where it is parsed so the refusal
 * names the flag or the variable that gave it: a problem, or undefined.
 */
const VALUE_CHECKS: Record<string, (value: string, where: string) => string | undefined> = {
  "role-arn": roleArnProblem,
  "file-owner": fileOwnerProblem,
  "file-mode": fileModeProblem,
};

const toInteger = (flag: string, value: string, origin: string, command: string): number => {
  if (!/^\d+$/.test(value.trim())) {
    throw new UsageError(
      `${origin === "argv" ? `--${flag}` : origin} must be a whole number, got "${value}"`,
      command,
    );
  }
  return Number(value);
};

/**
 * Parses `credbridge <command> [flags]`. Flags on the command line win over
 * their CREDBRIDGE_* variables, so a manifest can set defaults with env alone.
 */
export const parseCommandLine = (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedCommand => {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    return { command: "help", flags: {}, origins: {} };
  }
  if (command === "--version" || command === "version") return { command: "version", flags: {}, origins: {} };
  const def = COMMANDS[command];
  if (!def) throw new UsageError(`unknown command "${command}"`);
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...rest],
      strict: true,
      allowPositionals: true,
      options: Object.fromEntries(
        Object.entries(def.flags).map(([name, spec]) => [
          name,
          { type: spec.type === "boolean" ? "boolean" : "string", multiple: spec.type === "list" },
        ]),
      ),
    }) as { values: typeof values; positionals: string[] });
  } catch (error) {
    throw new UsageError(
      // Node's own lines joined: a usage error is one line, and printable() would show "\n".
      (error as Error).message
        .replace(/\. To specify a positional argument.*$/s, "")
        .replace(/\s*\n\s*/g, " "),
      command,
    );
  }
  if (positionals.length > 0) {
    // `--self-assume arn:...` (what trust-policy once took): name the flag that takes no value.
    const before = rest[rest.indexOf(positionals[0]!) - 1];
    const flag = before?.startsWith("--") ? before.slice(2) : undefined;
    const boolean = flag !== undefined && def.flags[flag]?.type === "boolean";
    throw new UsageError(
      `unexpected argument "${positionals[0]}"${boolean ? ` (--${flag} takes no value${flag === "self-assume" && def.flags["role-arn"] ? "; the role is --role-arn" : ""})` : ""}`,
      command,
    );
  }

  const flags: ParsedFlags = {};
  const origins: Record<string, string> = {};
  for (const [name, spec] of Object.entries(def.flags)) {
    let value: FlagValue | undefined;
    let origin = "argv";
    const given = values[name];
    if (given !== undefined) value = given as FlagValue;
    else {
      const raw = name === "help" ? undefined : env[envNameOf(name)];
      if (raw !== undefined) {
        origin = envNameOf(name);
        value = fromEnv(name, spec, raw, command);
      }
    }
    if (value === undefined) continue;
    if (spec.type === "integer") value = toInteger(name, String(value), origin, command);
    if (typeof value === "string" && value.trim() === "" && spec.type !== "boolean") {
      throw new UsageError(`${origin === "argv" ? `--${name}` : origin} needs a value`, command);
    }
    const problem = typeof value === "string" ? VALUE_CHECKS[name]?.(value, where(name, origin)) : undefined;
    if (problem !== undefined) throw new UsageError(problem, command);
    flags[name] = value;
    origins[name] = origin;
  }
  return { command, flags, origins };
};
