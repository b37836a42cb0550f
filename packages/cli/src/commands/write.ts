import { maskAccessKeyId } from "@credbridge/core";
import { writeCredentials } from "@credbridge/writer";
import { fileOptions } from "../args/file-options.js";
import type { Command } from "../context.js";
import {
  checkSessionOutlivesMargin,
  DEFAULT_MIN_REMAINING_SECONDS,
  firstCredentialsOutliveMargin,
} from "../margin.js";
import { buildChain } from "../source.js";

/** `credbridge write`: one locked, atomic write of the credentials file, for init containers and cron. */
export const writeCommand: Command = async (ctx) => {
  const file = fileOptions(ctx.flags, "write");
  const minRemaining = (ctx.flags["min-remaining"] as number | undefined) ?? DEFAULT_MIN_REMAINING_SECONDS;
  const chain = buildChain(ctx.flags, ctx.env, ctx.logger, "write");
  checkSessionOutlivesMargin(chain.session, minRemaining, "write");
  const provider = firstCredentialsOutliveMargin(chain.provider, {
    minRemainingSeconds: minRemaining,
    now: ctx.now,
    source: chain.steps.map((s) => s.label).join(" → "),
    session: chain.session,
  });
  const credentials = await provider();
  const result = await writeCredentials(credentials, { ...file, env: ctx.env, logger: ctx.logger });
  ctx.logger.log("info", "credentials file written", {
    path: result.path,
    profile: result.profile,
    accessKeyId: maskAccessKeyId(credentials.accessKeyId),
    expiration: credentials.expiration?.toISOString(),
  });
  return 0;
};
