import { CredbridgeError, DEFAULT_MIN_REMAINING_SECONDS } from "@credbridge/core";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import type { MarginFlags } from "./args/flags.js";
import { UsageError } from "./args/usage-error.js";
import type { CommandContext } from "./context.js";
import { type BuiltChain, buildChain, type SessionLength } from "./source.js";

const FIX =
  "ask for a longer session with --duration (or duration= on the last --assume-role; at most 3600 s when chaining roles, and at most the role's MaxSessionDuration)";

/**
 * Refuses, before any STS call, a session that can never outlive the margin:
 * `serve` would retry forever while serving nothing, `write` would write
 * credentials it promised never to hand out.
 */
export const checkSessionOutlivesMargin = (
  session: SessionLength | undefined,
  minRemainingSeconds: number,
  command: string,
): void => {
  if (session === undefined || session.seconds > minRemainingSeconds) return;
  throw new UsageError(
    `--min-remaining ${minRemainingSeconds} can never be met: sessions last ${session.seconds} s (${session.setBy}), and credentials with less than --min-remaining left are never served or written. ` +
      `Either ${FIX}, or lower --min-remaining below ${session.seconds}.`,
    command,
  );
};

/**
 * The same check on what the source really returns (a Pod Identity agent, a
 * role's MaxSessionDuration below what was asked): credentials that do not
 * outlive the margin are refused with ERR_EXPIRED, saying what to fix. Not a
 * configuration error that ends `serve`: one such answer may be stale (an
 * agent answering from its cache, a skewed clock) while the next lasts hours,
 * so the engine retries it with backoff like an expired one, and the message
 * tells the operator what to change should every answer be this short.
 */
export const credentialsOutliveMargin = (
  provider: AwsCredentialIdentityProvider,
  options: {
    minRemainingSeconds: number;
    now: () => number;
    /** The chain's steps, for the message (the engine's name). */
    name: string;
    /** What the chain asked STS for; undefined when the source alone decides the length. */
    session: SessionLength | undefined;
  },
): AwsCredentialIdentityProvider => {
  return async (properties) => {
    const credentials = await provider(properties);
    if (credentials.expiration === undefined) return credentials;
    const leftMs = credentials.expiration.getTime() - options.now();
    // Already expired: the source's own message (a stale answer, a skewed clock) says it best; the engine refuses it.
    if (leftMs <= 0 || leftMs > options.minRemainingSeconds * 1000) return credentials;
    const left = Math.max(0, Math.floor(leftMs / 1000));
    const { session } = options;
    const longer = session
      ? `have STS issue the ${session.seconds} s asked for (${session.setBy}; the role's MaxSessionDuration may be lower)`
      : "use a source whose sessions last longer (the source alone decides their length)";
    throw new CredbridgeError(
      `the credentials from ${options.name} last ${left} s, not more than --min-remaining ${options.minRemainingSeconds}: they are neither served nor written. ` +
        `A stale answer is retried with backoff; if every answer is this short, either lower --min-remaining below ${left}, or ${longer}`,
      { code: "ERR_EXPIRED" },
    );
  };
};

/**
 * The chain `serve` and `write` take credentials from, with `--min-remaining`
 * checked on both sides: the session the chain asks for, at start, and the
 * credentials it returns (`provider`).
 */
export const chainOutlivingMargin = (
  ctx: Pick<CommandContext<MarginFlags>, "flags" | "env" | "logger" | "now">,
  command: string,
): {
  chain: BuiltChain;
  provider: AwsCredentialIdentityProvider;
  /** The chain's steps, `a → b`, for messages and the engine's name. */
  name: string;
  minRemainingSeconds: number;
} => {
  const minRemainingSeconds = ctx.flags["min-remaining"] ?? DEFAULT_MIN_REMAINING_SECONDS;
  const chain = buildChain(ctx.flags, ctx.env, ctx.logger, command);
  checkSessionOutlivesMargin(chain.session, minRemainingSeconds, command);
  for (const profile of chain.profiles)
    checkSessionOutlivesMargin(profile.session, minRemainingSeconds, command);
  const name = chain.steps.map((s) => s.label).join(" → ");
  const provider = credentialsOutliveMargin(chain.provider, {
    minRemainingSeconds,
    now: ctx.now,
    name,
    session: chain.session,
  });
  return { chain, provider, name, minRemainingSeconds };
};
