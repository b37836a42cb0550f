import { resolve } from "node:path";
import { isCredbridgeError, maskAccessKeyId } from "@credbridge/core";
import { createContainerCredentialsServer, createImdsServer } from "@credbridge/imds-shim";
import { type RefresherHandle, startRefresher } from "@credbridge/writer";
import { checkOwnerAtStart, fileOptions } from "../args/file-options.js";
import { parseHostPort } from "../args/host-port.js";
import { refuseIgnored } from "../args/ignored.js";
import { PROFILE_FLAG } from "../args/profiles.js";
import { UsageError } from "../args/usage-error.js";
import type { Command } from "../context.js";
import { chainOutlivingMargin } from "../margin.js";
import { ensureAuthTokenFile, ownerIds } from "../serve/auth-token-file.js";
import { createMetrics } from "../serve/metrics.js";
import { startMetricsServer } from "../serve/metrics-server.js";
import { profileEngines, type ServedProfile } from "../serve/profiles.js";
import { checkRefreshTimeout, serveWindows } from "../serve/windows.js";
import { aborted, untilStopped } from "../until-stopped.js";

/** SIGTERM to exit: Kubernetes' grace period is longer, but a sidecar should be quick. */
const SHUTDOWN_BUDGET_MS = 4_000;
/** How long servers let in-flight requests finish on shutdown: well inside the budget. */
const CLOSE_GRACE_MS = 2_000;
/**
 * How long the credentials file's last write and the profile's removal may
 * wait for its lock on shutdown: inside the budget, so a lock another writer
 * holds is given up (no ticket of ours left in its queue) before the exit.
 */
const FILE_STOP_MS = SHUTDOWN_BUDGET_MS - 500;
/**
 * Said at start-up with --imds-v2-only: the clients it shuts out never say why
 * (they get 401 and fall through their chains), and the best known of them is
 * the application credbridge is most often run beside.
 */
const IMDS_V2_ONLY_WARNING =
  "IMDS refuses IMDSv1 (--imds-v2-only): clients that never ask for a token get no credentials, " +
  "among them aws-sdk-go before 1.25.38 and so Harbor 2.x's registry (distribution v2.8.3, aws-sdk-go 1.15.11)";
/** Errors a retry cannot fix: a sidecar that starts with them exits rather than waits. */
const FATAL = new Set(["ERR_CONFIG", "ERR_TOKEN_FILE", "ERR_INSECURE_URL"]);

/**
 * The one profile IMDS serves: EC2 gives an instance one instance profile, and
 * IMDS clients ask for the one role listed, so serving several there is
 * refused with that reason rather than picking one silently.
 */
const pickImdsProfile = (asked: string[] | undefined, profiles: ServedProfile[]): ServedProfile => {
  if (asked === undefined || asked.length === 0) return profiles[0]!;
  if (asked.length > 1) {
    throw new UsageError(
      `--imds-profile is given ${asked.length} times (${asked.join(", ")}): IMDS serves one role, as EC2 gives an instance one instance profile and its clients take the one role listed; serve the others at the container endpoint (/v1/credentials/NAME) or in the credentials file`,
      "serve",
    );
  }
  const name = asked[0]!;
  const found = profiles.find((p) => p.name === name);
  if (!found) {
    throw new UsageError(
      `--imds-profile ${name} names no profile; the profiles are ${profiles.map((p) => p.name).join(", ")}`,
      "serve",
    );
  }
  return found;
};

/**
 * `credbridge serve`: one refresh engine feeding every output — the credentials
 * file, IMDS, the container endpoint — so each refresh is one upstream call
 * whatever the number of outputs. With named profiles (--profile-assume-role),
 * one source engine and one engine per profile on it (see `profileEngines`):
 * every profile a section of the file and a path of the container endpoint,
 * IMDS the one --imds-profile names.
 */
export const serveCommand: Command<"serve"> = async (ctx) => {
  const f = ctx.flags;
  const { logger } = ctx;
  const wantsFile = f["credentials-file"] !== undefined;
  const imdsAt = f.imds === undefined ? undefined : parseHostPort(f.imds, "imds", "serve");
  const containerAt =
    f["container-endpoint"] === undefined
      ? undefined
      : parseHostPort(f["container-endpoint"], "container-endpoint", "serve");
  const metricsAt = f.metrics === undefined ? undefined : parseHostPort(f.metrics, "metrics", "serve");
  if (!wantsFile && !imdsAt && !containerAt) {
    throw new UsageError(
      "serve needs at least one output: --credentials-file, --imds or --container-endpoint",
      "serve",
    );
  }
  const tokenFile = f["container-auth-token-file"];
  if (!wantsFile) refuseIgnored(ctx, ["profile", "remove-on-exit"], "without --credentials-file");
  if (!wantsFile && !containerAt) {
    refuseIgnored(ctx, ["file-owner", "file-mode"], "without --credentials-file or --container-endpoint");
  }
  if (!containerAt) refuseIgnored(ctx, ["container-auth-token-file"], "without --container-endpoint");
  if (!imdsAt) refuseIgnored(ctx, ["imds-role-name", "imds-v2-only"], "without --imds");
  if (containerAt && !tokenFile) {
    throw new UsageError(
      "--container-endpoint needs --container-auth-token-file (created when missing)",
      "serve",
    );
  }
  const refreshTimeout = f["refresh-timeout"];
  if (refreshTimeout !== undefined && refreshTimeout <= 0) {
    throw new UsageError(
      `--refresh-timeout must be a positive number of seconds; got ${refreshTimeout}`,
      "serve",
    );
  }
  const file = fileOptions(f);
  if (containerAt && tokenFile && file.path !== undefined && resolve(file.path) === resolve(tokenFile)) {
    throw new UsageError(
      `--credentials-file and --container-auth-token-file name the same file (${resolve(tokenFile)}); the token would be overwritten by the credentials: give each its own path`,
      "serve",
    );
  }
  checkOwnerAtStart(file.owner, file.path ?? tokenFile);
  const {
    chain,
    provider,
    name: chainName,
    minRemainingSeconds: minRemaining,
  } = chainOutlivingMargin(ctx, "serve");
  const windows = serveWindows(minRemaining);
  checkRefreshTimeout(refreshTimeout, windows);
  // Every engine, writer and server runs on the command's clock.
  const runtime = { ...ctx.clock, env: ctx.env, logger };

  // Windows sit just outside the margin every output guarantees (see serveWindows).
  const defaultName = file.profile ?? "default";
  const {
    profiles,
    engines,
    source: sourceEngine,
  } = profileEngines({
    chain,
    provider,
    chainName,
    defaultName,
    minRemainingSeconds: minRemaining,
    now: ctx.now,
    options: { ...windows, attemptTimeoutSeconds: refreshTimeout, runtime },
  });
  const named = profiles.filter((p) => p.named);
  const engine = profiles[0]!.engine;
  if (!imdsAt && f["imds-profile"] !== undefined) {
    throw new UsageError("--imds-profile names the profile --imds serves: give --imds too", "serve");
  }
  const imdsProfile = imdsAt ? pickImdsProfile(f["imds-profile"], profiles) : undefined;
  if (!wantsFile && !containerAt) {
    // IMDS serves one profile: any other named one would be fetched, and hold /readyz, for nobody.
    const unserved = named.filter((p) => p !== imdsProfile);
    if (unserved.length > 0) {
      throw new UsageError(
        `${PROFILE_FLAG} ${unserved.map((p) => p.name).join(", ")}: no output serves ${unserved.length > 1 ? "these profiles" : "this profile"} — IMDS serves one (--imds-profile, default ${defaultName}); give --credentials-file or --container-endpoint, or leave ${unserved.length > 1 ? "them" : "it"} out`,
        "serve",
      );
    }
  }
  const metrics = createMetrics(engine, {
    minRemainingSeconds: minRemaining,
    monotonicNow: ctx.clock.monotonicNow,
    now: ctx.now,
    profile: named.length > 0 ? defaultName : undefined,
  });
  for (const p of profiles) {
    const onRefresh = p.named ? metrics.addProfile(p.name, p.engine) : metrics.onRefresh;
    p.engine.subscribe((event) => {
      onRefresh(event);
      if (event.type === "refresh-success") {
        logger.log("info", "credentials refreshed", {
          ...(named.length > 0 ? { profile: p.name } : {}),
          reason: event.reason,
          accessKeyId: maskAccessKeyId(event.credentials.accessKeyId),
          expiration: event.expiration?.toISOString(),
          durationMs: event.durationMs,
        });
      }
    });
  }
  logger.log("info", "credbridge starting", {
    source: chain.detection.source,
    reason: chain.detection.reason,
    chain: chain.steps.map((s) => s.label),
    ...(named.length > 0
      ? {
          profiles: Object.fromEntries(profiles.map((p) => [p.name, p.chain])),
          imdsProfile: imdsProfile?.name,
        }
      : {}),
  });

  const closers: (() => Promise<void>)[] = [];
  let refresher: RefresherHandle | undefined;
  let clean = true;
  try {
    // The first fetch, before anything is served: fail fast on what no retry fixes.
    // A stop signal ends the wait: a hung STS must not hold SIGTERM to its request timeout.
    // Plain aborted() here: a fatal error returns from serve, and nothing must outlive that;
    // the first fetch's own I/O holds the process meanwhile (and the bin fails if it did not).
    // The default profile's first fetch (through the shared source, when there are named
    // profiles) decides the start; the named profiles' run beside it and never hold it:
    // a hung or failing chain is logged and retried while the others are served.
    const firstFetch = (p: ServedProfile) =>
      p.engine().then(
        () => undefined,
        (error: unknown) => {
          if (!p.named && isCredbridgeError(error) && FATAL.has(error.code)) throw error;
          logger.log("error", "initial credentials unavailable; retrying in the background", {
            ...(named.length > 0 ? { profile: p.name } : {}),
            error: (error as Error).message,
          });
        },
      );
    for (const p of named) void firstFetch(p);
    const first = firstFetch(profiles[0]!);
    await Promise.race([first, aborted(ctx.stopSignal)]);
    if (ctx.stopSignal.aborted) {
      first.catch(() => {});
      logger.log("info", "stopping before start-up finished", {
        signal: String(ctx.stopSignal.reason ?? ""),
      });
      return 0;
    }
    for (const e of engines) e.start();
    if (wantsFile) {
      refresher = startRefresher(engine, {
        // Every named profile a section of the same file, written with the default's in one write.
        profiles: named.map((p) => ({ profile: p.name, provider: p.engine })),
        // With named profiles, a section whose chain failed past its expiry goes: never expired credentials.
        removeExpired: named.length > 0,
        ...file,
        env: ctx.env,
        runtime,
        logger,
        // The file keeps the margin the servers keep, retries of a failed write included.
        minRemainingSeconds: minRemaining,
        removeOnStop: f["remove-on-exit"] === true,
        observer: metrics.onWrite,
      });
      metrics.watchRefresher(refresher);
    }
    const served = {
      provider: engine,
      minRemainingSeconds: minRemaining,
      // The servers read only what serve was given, never this process's own environment.
      runtime,
      logger,
      onRequest: metrics.onRequest,
      // Requests in flight at SIGTERM get this long, inside the shutdown budget.
      limits: { closeGraceMs: CLOSE_GRACE_MS },
    };
    if (imdsAt && imdsProfile) {
      const imds = createImdsServer({
        ...served,
        provider: imdsProfile.engine,
        ...imdsAt,
        // The role and account come from the credentials served: --role-arn and AWS_ROLE_ARN
        // name the source's role, which after --self-assume or --assume-role is not the one served.
        roleName: f["imds-role-name"],
        region: f.region ?? ctx.env.AWS_REGION ?? ctx.env.AWS_DEFAULT_REGION,
        requireToken: f["imds-v2-only"] === true,
      });
      const address = await imds.listen();
      closers.push(() => imds.close());
      logger.log("info", "IMDS listening", { url: address.url, v2Only: f["imds-v2-only"] === true });
      if (f["imds-v2-only"] === true) logger.log("warn", IMDS_V2_ONLY_WARNING, {});
    }
    if (containerAt && tokenFile) {
      if (await ensureAuthTokenFile(tokenFile, file.owner, file.mode)) {
        logger.log("info", "created container authorization token file", { path: tokenFile });
      }
      // Besides root and serve's own user, only the user it makes the file for may own the token file.
      const tokenOwner = file.owner === undefined ? undefined : ownerIds(file.owner).uid;
      const container = createContainerCredentialsServer({
        ...served,
        ...containerAt,
        authTokenFile: tokenFile,
        authTokenFileOwner: tokenOwner,
        // Each named profile at <path>/<name>, under the same token.
        profiles: Object.fromEntries(named.map((p) => [p.name, p.engine])),
      });
      // Refuses to start on a token no request could match (empty, two lines, not ASCII).
      const address = await container.listen();
      closers.push(() => container.close());
      metrics.watchTokenFile(tokenFile, tokenOwner === undefined ? [] : [tokenOwner]);
      logger.log("info", "container credentials endpoint listening", {
        url: address.url,
        tokenFile,
        ...(named.length > 0 ? { profiles: named.map((p) => `${address.url}/${p.name}`) } : {}),
      });
    }
    if (metricsAt) {
      const server = await startMetricsServer(metrics, metricsAt, CLOSE_GRACE_MS);
      closers.push(() => server.close());
      logger.log("info", "metrics listening", { url: server.url });
    }
    ctx.onReload(() => {
      logger.log("info", "SIGHUP: refreshing credentials now");
      // The shared source first, then every profile on top of it (one engine without named profiles).
      sourceEngine
        .refresh()
        .catch(() => {})
        .finally(() => {
          for (const e of engines) if (e !== sourceEngine) e.refresh().catch(() => {});
        });
    });
    // Not aborted(): with static credentials (no refresh timer) and only the file output
    // (no server), nothing else holds the event loop, and Node would end the process here.
    await untilStopped(ctx.stopSignal);
    logger.log("info", "stopping", { signal: String(ctx.stopSignal.reason ?? "") });
  } finally {
    const stopEngines = {
      stop: () => {
        for (const e of engines) e.stop();
      },
    };
    clean = await shutdown(stopEngines, refresher, closers, logger);
  }
  return clean ? 0 : 1;
};

/** Stops everything within the budget; false when something was left undone (the profile not removed, say). */
const shutdown = async (
  engine: { stop(): void },
  refresher: RefresherHandle | undefined,
  closers: (() => Promise<void>)[],
  logger: {
    log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
  },
): Promise<boolean> => {
  engine.stop();
  const fileBudget = new AbortController();
  const fileTimer = setTimeout(() => fileBudget.abort("the shutdown budget"), FILE_STOP_MS);
  const fileStopped = refresher?.stop({ signal: fileBudget.signal });
  const work = Promise.allSettled([
    // The refresher finishes an in-flight write (and removes the profile if asked) before it resolves.
    fileStopped,
    ...closers.map((close) => close()),
  ]);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), SHUTDOWN_BUDGET_MS);
  });
  const outcome = await Promise.race([work.then(() => "done" as const), late]);
  clearTimeout(timer);
  clearTimeout(fileTimer);
  if (outcome === "late") {
    logger.log("warn", "shutdown took too long; exiting with work unfinished", {});
    return false;
  }
  const file = await fileStopped;
  if (file?.profileRemoved === false) {
    // The refresher logged why; the exit code says it too, so nobody takes the credentials for gone.
    logger.log("error", "stopped, but the profile is still in the credentials file (--remove-on-exit)", {
      path: refresher?.status().path,
    });
    return false;
  }
  logger.log("info", "stopped", {});
  return true;
};
