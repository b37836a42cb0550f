import { maskAccessKeyId } from "@credbridge/core";
import { writeCredentials } from "@credbridge/writer";
import { fileOptions } from "../args/file-options.js";
import type { Command } from "../context.js";
import { chainOutlivingMargin } from "../margin.js";

/** `credbridge write`: one locked, atomic write of the credentials file, for init containers and cron. */
export const writeCommand: Command = async (ctx) => {
  const file = fileOptions(ctx.flags, "write");
  const { provider } = chainOutlivingMargin(ctx, "write");
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
