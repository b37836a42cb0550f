import { parseHostPort } from "../args/host-port.js";
import { UsageError } from "../args/usage-error.js";
import type { Command } from "../context.js";
import { untilStopped } from "../until-stopped.js";
import { version } from "../version.js";
import { createWebhookServer } from "../webhook/server.js";

/** The image the examples/image Dockerfile builds and the release publishes. */
export const IMAGE_REPOSITORY = "ghcr.io/credbridge/credbridge";
export const DEFAULT_ADDRESS_IMAGE = "busybox:1.37";

const required = (value: unknown, flag: string): string => {
  if (typeof value !== "string") throw new UsageError(`webhook needs --${flag}`, "webhook");
  return value;
};

/** `credbridge webhook`: serves the mutating admission webhook until SIGTERM. */
export const webhookCommand: Command = async (ctx) => {
  const f = ctx.flags;
  const at = parseHostPort(required(f.listen, "listen"), "listen", "webhook");
  const server = createWebhookServer({
    ...at,
    certFile: required(f["tls-cert-file"], "tls-cert-file"),
    keyFile: required(f["tls-key-file"], "tls-key-file"),
    defaults: {
      image: (f.image as string | undefined) ?? `${IMAGE_REPOSITORY}:${version()}`,
      addressImage: (f["address-image"] as string | undefined) ?? DEFAULT_ADDRESS_IMAGE,
    },
    logger: ctx.logger,
    now: ctx.now,
  });
  const address = await server.listen();
  ctx.logger.log("info", "webhook listening", { url: address.url });
  // Held by the signal, not by the HTTPS server alone: the server is this command's work, not its lifetime.
  await untilStopped(ctx.stopSignal);
  ctx.logger.log("info", "stopping", { signal: String(ctx.stopSignal.reason ?? "") });
  await server.close();
  ctx.logger.log("info", "stopped");
  return 0;
};
