import { createHttpServer, type Reply } from "@credbridge/http";
import type { ProbeResult } from "./probes.js";

/** What the metrics server serves: `serve`'s metrics and probes, or the webhook's. */
export interface MetricsSource {
  /** The Prometheus text exposition format. */
  render(): string;
  live(): ProbeResult;
  ready(): ProbeResult;
}

const text = (status: number, route: string, body: string, contentType = "text/plain"): Reply => ({
  status,
  route,
  contentType,
  body,
});

/**
 * Plain HTTP: `/metrics`, `/healthz` and `/readyz` (for `serve`: the refresh
 * engine is not wedged, every output can serve; for the webhook: its serving
 * certificate is valid).
 */
export const startMetricsServer = async (
  metrics: MetricsSource,
  listen: { host: string; port: number },
  /** Requests in flight at close get this long. */
  closeGraceMs?: number,
): Promise<{ url: string; close(): Promise<void> }> => {
  const server = createHttpServer({
    name: "metrics",
    host: listen.host,
    port: listen.port,
    // Nothing here for a DNS-rebinding page to take, and Prometheus may scrape by any name.
    allowedHosts: ["*"],
    limits: { closeGraceMs },
    handler: ({ method, path }) => {
      if (method !== "GET" && method !== "HEAD") {
        return { ...text(405, path, ""), headers: { allow: "GET, HEAD" } };
      }
      if (path === "/metrics") {
        return text(200, path, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
      } else if (path === "/healthz") {
        const live = metrics.live();
        return text(live.ok ? 200 : 503, path, `${live.reason}\n`);
      } else if (path === "/readyz") {
        const ready = metrics.ready();
        return text(ready.ok ? 200 : 503, path, `${ready.reason}\n`);
      } else {
        return text(404, "not-found", "not found\n");
      }
    },
  });
  const address = await server.listen();
  return { url: address.url, close: () => server.close() };
};
