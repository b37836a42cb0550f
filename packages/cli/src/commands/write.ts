import { maskAccessKeyId } from "@credbridge/core";
import { writeCredentials } from "@credbridge/writer";
import { checkOwnerAtStart, fileOptions } from "../args/file-options.js";
import type { Command } from "../context.js";
import { chainOutlivingMargin } from "../margin.js";
import { orStop } from "../or-stop.js";

/**
 * `credbridge write`: one locked, atomic write of the credentials file, for
 * init containers and cron. SIGTERM or SIGINT stops it at once, before the
 * write (the source's call is abandoned, the lock wait given up) or after it:
 * the write itself is one synchronous stretch no signal can cut.
 */
export const writeCommand: Command<"write"> = async (ctx) => {
  const file = fileOptions(ctx.flags);
  checkOwnerAtStart(file.owner, file.path);
  const { provider, minRemainingSeconds } = chainOutlivingMargin(ctx, "write");
  const credentials = await orStop(
    provider(),
    ctx.stopSignal,
    "credentials from the source; nothing was written",
  );
  const result = await writeCredentials(credentials, {
    ...file,
    env: ctx.env,
    logger: ctx.logger,
    signal: ctx.stopSignal,
    // Checked again under the lock, just before the rename: a long wait for the lock must not put
    // credentials inside the margin on disk.
    minRemainingSeconds,
  });
  ctx.logger.log("info", result.changed ? "credentials file written" : "credentials file kept", {
    path: result.path,
    profile: result.profile,
    accessKeyId: maskAccessKeyId(credentials.accessKeyId),
    expiration: result.expiration?.toISOString(),
    ...(result.changed ? {} : { reason: "the profile holds credentials that expire later" }),
  });
  return 0;
};
