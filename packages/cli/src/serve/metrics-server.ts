import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostLiteral } from "@credbridge/core/wire";
import type { Metrics } from "./metrics.js";

/** `/metrics`, `/healthz` (the refresh engine is not wedged) and `/readyz` (every output can serve). */
export const startMetricsServer = async (
  metrics: Metrics,
  listen: { host: string; port: number },
): Promise<{ url: string; close(): Promise<void> }> => {
  const server: Server = createServer({ requestTimeout: 5_000, headersTimeout: 5_000 }, (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      res
        .writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" })
        .end(metrics.render());
    } else if (path === "/healthz") {
      const live = metrics.live();
      res.writeHead(live.ok ? 200 : 503, { "content-type": "text/plain" }).end(`${live.reason}\n`);
    } else if (path === "/readyz") {
      const ready = metrics.ready();
      res.writeHead(ready.ok ? 200 : 503, { "content-type": "text/plain" }).end(`${ready.reason}\n`);
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${hostLiteral(address.address)}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
};
