import { join } from "../builtins.js";
import type { Command } from "../context.js";
import { orStop } from "../or-stop.js";
import { cacheFileName, cacheIdentity, defaultCacheDir, readCached } from "../process/cache.js";

/** The cache answers while more than this is left: botocore's advisory window. */
const REFRESH_WINDOW_MS = 15 * 60_000;

/**
 * `credbridge process`: credential_process JSON on stdout. A cache hit loads
 * neither core nor the AWS SDK, so the AWS CLI calling it before every command
 * pays only Node's start-up.
 */
export const processCommand: Command<"process"> = async (ctx) => {
  const dir = ctx.flags["cache-dir"] ?? defaultCacheDir(ctx.env);
  // The cache is an optimisation: without a home to keep it in, every call asks the source.
  if (dir === undefined && ctx.flags["no-cache"] !== true) {
    // Said as core says it, without loading core: a cache hit must not pay for it.
    const home = ctx.env.HOME === undefined ? "unset" : "empty";
    ctx.logger.log(
      "warn",
      `no cache: no home directory (HOME is ${home} and this uid has no passwd entry); set --cache-dir or XDG_CACHE_HOME`,
    );
  }
  const noCache = ctx.flags["no-cache"] === true || dir === undefined;
  const identity = cacheIdentity(ctx.flags, ctx.env);
  const file = dir === undefined ? "" : join(dir, cacheFileName(identity));
  const trust = { logger: ctx.logger };
  if (!noCache) {
    const hit = readCached(file, identity, ctx.now(), REFRESH_WINDOW_MS, trust);
    if (hit) {
      ctx.stdout(`${JSON.stringify(hit)}\n`);
      return 0;
    }
  }
  const [{ buildChain, hopSteps, profileProvider }, { toProcessCredentials }, { writeCached }] =
    await Promise.all([
      import("../source.js"),
      import("../process/to-process-credentials.js"),
      import("../process/write-cache.js"),
    ]);
  const chain = buildChain(ctx.flags, ctx.env, ctx.logger, "process");
  // CREDBRIDGE_PROFILE beside the sidecar is serve's name for the default profile's section.
  const asked = ctx.flags.profile;
  const fromServe =
    ctx.origins.profile !== undefined &&
    ctx.origins.profile !== "argv" &&
    !chain.profiles.some((p) => p.name === asked);
  const provider = profileProvider(chain, fromServe ? undefined : asked, hopSteps);
  const output = toProcessCredentials(
    await orStop(provider(), ctx.stopSignal, "credentials from the source; nothing was cached"),
  );
  if (!noCache) {
    try {
      writeCached(file, dir!, identity, output, trust);
    } catch (error) {
      ctx.logger.error(`credbridge: could not cache credentials in ${dir}: ${(error as Error).message}`);
    }
  }
  ctx.stdout(`${JSON.stringify(output)}\n`);
  return 0;
};
