import type { RequestInfo } from "@credbridge/http";
import { type Exposition, labelPairs } from "./exposition.js";

const NAME = "credbridge_requests_total";
const HELP = "Requests answered, by server, route and status.";

/**
 * `credbridge_requests_total{server,path,status}`: every request a server
 * answered. `path` is the route's name (bounded), never the raw path.
 */
export const createRequestCounter = () => {
  // Keyed by the raw label values; each counter keeps its escaped label set,
  // built once, so a request costs one lookup (render order: first seen).
  const requests = new Map<string, { pairs: string; n: number }>();
  // Each server's last route and status, with its counter: a server answers the
  // same request over and over, and building the key cost ~0.8 µs a request.
  const lastOf = new Map<string, { path: string; status: number; counter: { pairs: string; n: number } }>();
  return {
    onRequest: (r: RequestInfo): void => {
      const seen = lastOf.get(r.server);
      if (seen !== undefined && seen.status === r.status && seen.path === r.path) {
        seen.counter.n++;
        return;
      }
      const key = `${r.server}\n${r.path}\n${r.status}`;
      let counter = requests.get(key);
      if (counter) counter.n++;
      else {
        counter = { pairs: labelPairs({ server: r.server, path: r.path, status: String(r.status) }), n: 1 };
        requests.set(key, counter);
      }
      lastOf.set(r.server, { path: r.path, status: r.status, counter });
    },
    collect(out: Exposition): void {
      out.declare(NAME, "counter", HELP);
      for (const { pairs, n } of requests.values()) out.add(NAME, "counter", HELP, pairs, n);
    },
  };
};

export type RequestCounter = ReturnType<typeof createRequestCounter>;
