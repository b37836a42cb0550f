import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

/** What the proxy saw: each request and whether it carried an IMDSv2 session token. */
export interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  withToken: boolean;
}

/**
 * An instance metadata endpoint that has IMDSv2 turned off the way a client
 * meets it: `PUT /latest/api/token` answers 403 (as EC2 does for a token PUT
 * it refuses), everything else is forwarded to the shim. A client that still
 * gets credentials through it fell back to IMDSv1; `seen` shows its reads
 * carried no token.
 */
export const startImdsV1Proxy = async (target: string) => {
  const upstream = new URL(target);
  const seen: ProxiedRequest[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? "/";
    const withToken = req.headers["x-aws-ec2-metadata-token"] !== undefined;
    if (req.method === "PUT" && path.startsWith("/latest/api/token")) {
      seen.push({ method: "PUT", path, status: 403, withToken });
      res.writeHead(403, { "Content-Type": "text/plain" }).end("Forbidden");
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        seen.push({ method: req.method ?? "", path, status: up.statusCode ?? 0, withToken });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on("error", () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    /** The credentials reads that succeeded, none of them with a token. */
    v1Reads: () => seen.filter((r) => r.method === "GET" && r.status === 200),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
