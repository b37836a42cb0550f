import type { CommandFlags } from "../args/flags.js";
import { parseHostPort } from "../args/host-port.js";
import { UsageError } from "../args/usage-error.js";
import type { Command } from "../context.js";
import { startMetricsServer } from "../serve/metrics-server.js";
import { untilStopped } from "../until-stopped.js";
import { version } from "../version.js";
import { createWebhookMetrics } from "../webhook/metrics.js";
import { createWebhookServer } from "../webhook/server.js";

/** The image the examples/image Dockerfile builds and the release publishes. */
export const IMAGE_REPOSITORY = "ghcr.io/credbridge/credbridge";
export const DEFAULT_ADDRESS_IMAGE = "busybox:1.37";

const required = (value: string | undefined, flag: keyof CommandFlags<"webhook">): string => {
  if (typeof value !== "string") throw new UsageError(`webhook needs --${flag}`, "webhook");
  return value;
};

/** `credbridge webhook`: serves the mutating admission webhook until SIGTERM. */
export const webhookCommand: Command<"webhook"> = async (ctx) => {
  const f = ctx.flags;
  const at = parseHostPort(required(f.listen, "listen"), "listen", "webhook");
  const metricsAt = f.metrics === undefined ? undefined : parseHostPort(f.metrics, "metrics", "webhook");
  const metrics = metricsAt ? createWebhookMetrics(ctx.now) : undefined;
  const server = createWebhookServer({
    ...at,
    certFile: required(f["tls-cert-file"], "tls-cert-file"),
    keyFile: required(f["tls-key-file"], "tls-key-file"),
    defaults: {
      image: f.image ?? `${IMAGE_REPOSITORY}:${version()}`,
      addressImage: f["address-image"] ?? DEFAULT_ADDRESS_IMAGE,
    },
    logger: ctx.logger,
    now: ctx.now,
    observer: metrics,
  });
  const address = await server.listen();
  ctx.logger.log("info", "webhook listening", { url: address.url });
  // Plain HTTP on a port of its own: Prometheus scrapes it without the webhook's
  // CA and Host names, and the HTTPS port stays the API server's alone.
  const metricsServer =
    metrics && metricsAt
      ? await startMetricsServer(metrics, metricsAt).catch(async (error: unknown) => {
          await server.close();
          throw error;
        })
      : undefined;
  if (metricsServer) ctx.logger.log("info", "metrics listening", { url: metricsServer.url });
  // Held by the signal, not by the HTTPS server alone: the server is this command's work, not its lifetime.
  await untilStopped(ctx.stopSignal);
  ctx.logger.log("info", "stopping", { signal: String(ctx.stopSignal.reason ?? "") });
  await Promise.all([server.close(), metricsServer?.close()]);
  ctx.logger.log("info", "stopped");
  return 0;
};
