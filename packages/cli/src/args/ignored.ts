import type { CommandContext } from "../context.js";
import { UsageError } from "./usage-error.js";

/**
 * Refuses settings that would have no effect (a usage error naming each, as given: `--flag` or
 * its variable): a setting accepted and then ignored leaves its user believing it holds. A
 * boolean counts as given only when true.
 */
export const refuseIgnored = <F>(
  ctx: CommandContext<F>,
  flags: readonly (keyof F & string)[],
  unless: string,
): void => {
  const given = flags.filter((flag) => ctx.flags[flag] !== undefined && ctx.flags[flag] !== false);
  if (given.length === 0) return;
  const named = given.map((flag) => (ctx.origins[flag] === "argv" ? `--${flag}` : ctx.origins[flag]!));
  throw new UsageError(
    `${named.join(", ")} ${named.length > 1 ? "have" : "has"} no effect ${unless}: remove ${named.length > 1 ? "them" : "it"}`,
    ctx.command,
  );
};
