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
export const writeCommand: Command = async (ctx) => {
  const file = fileOptions(ctx.flags, "write");
  checkOwnerAtStart(file.owner, file.path);
  const { provider } = chainOutlivingMargin(ctx, "write");
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
  });
  ctx.logger.log("info", "credentials file written", {
    path: result.path,
    profile: result.profile,
    accessKeyId: maskAccessKeyId(credentials.accessKeyId),
    expiration: credentials.expiration?.toISOString(),
  });
  return 0;
};
