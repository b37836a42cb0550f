import { createHttpServer, type Reply, type RequestInfo, type ServerAddress } from "@credbridge/http";
import type { JsonLogger } from "../log.js";
import type { InjectDefaults } from "./inject.js";
import { answerReview, reviewOutcome } from "./review.js";
import {
  certificateReadiness,
  readTlsPair,
  type TlsPair,
  type TlsWatcher,
  validityProblem,
  watchTlsFiles,
} from "./tls-files.js";

/** What the webhook tells its metrics. */
export interface WebhookObserver {
  /** Every request answered; each review (a POST to /mutate) with its outcome, a malformed one's `error`. */
  onRequest(info: RequestInfo): void;
  /** The certificate in use: at `listen`, then after each reload. */
  onCertificate(pair: TlsPair, reloaded: boolean): void;
  /** A changed pair that could not be taken; the previous one stays in use. */
  onCertificateReloadFailure(): void;
}

export interface WebhookServerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  defaults: InjectDefaults;
  logger: JsonLogger;
  now?: () => number;
  /** How often the certificate files are read when no file event arrives. Default 60 s. */
  tlsPollMs?: number;
  observer?: WebhookObserver | undefined;
}

/**
 * An AdmissionReview bound: the API server sends the whole pod, and etcd keeps
 * objects under 1.5 MiB. A review above 3 MiB is not one the API server sends.
 */
const MAX_REVIEW_BYTES = 3 * 1024 * 1024;
/**
 * Reviews held in memory at once: two of the largest, or hundreds of real
 * ones (tens of KiB each). More are answered 503 at once, so held bodies cannot
 * take the webhook past its container's 128Mi.
 */
const MAX_BUFFERED_REVIEW_BYTES = 8 * 1024 * 1024;
const MAX_CONNECTIONS = 256;

const json = (status: number, route: string, body: unknown): Reply => ({
  status,
  route,
  contentType: "application/json",
  body: JSON.stringify(body),
});

const text = (status: number, route: string, body: string): Reply => ({
  status,
  route,
  contentType: "text/plain; charset=utf-8",
  body,
});

/**
 * `credbridge webhook`'s HTTPS server: POST /mutate answers AdmissionReviews,
 * /healthz and /readyz answer the kubelet. The certificate and key are read at
 * `listen` and again whenever their files change (cert-manager rotates them in
 * place); a pair whose key is not the certificate's stops `listen`, and on
 * rotation leaves the previous pair in use. Only `Host` values the certificate
 * names (its wildcards as RFC 6125 matches them) or IP literals are served.
 */
export const createWebhookServer = (options: WebhookServerOptions) => {
  const { logger } = options;
  const now = options.now ?? Date.now;
  let pair: TlsPair | undefined;
  let watcher: TlsWatcher | undefined;

  /** Serves `next` from now on; throws, naming both files, when they cannot serve TLS together. */
  const use = (next: TlsPair) => {
    try {
      http.setSecureContext(next.options);
    } catch (error) {
      throw new Error(
        `--tls-cert-file ${options.certFile} and --tls-key-file ${options.keyFile}: ${(error as Error).message}`,
      );
    }
    http.setAllowedHosts(next.names);
    pair = next;
  };

  const http = createHttpServer({
    name: "webhook",
    host: options.host,
    port: options.port,
    // The API server sends a review whole at once and keeps its connections for
    // the next ones: the core's handshake (5 s), head (5 s) and request (10 s)
    // deadlines stand as they are.
    limits: {
      maxBodyBytes: MAX_REVIEW_BYTES,
      maxBufferedBytes: MAX_BUFFERED_REVIEW_BYTES,
      // Each TLS connection costs OpenSSL some 30 KiB once it reads: 1 100 silent ones
      // closing left 30 MiB behind. The API server needs a few dozen; at the limit the
      // oldest idle or unfinished one makes room, so a flood cannot lock it out.
      maxConnections: MAX_CONNECTIONS,
      idleTimeoutMs: 120_000,
      keepAliveTimeoutMs: 60_000,
    },
    wellKnownHosts: [],
    allowedHosts: [],
    readBody: true,
    logger,
    onRequest: options.observer?.onRequest,
    url: (base) => base,
    beforeListen: async () => use(await readTlsPair(options.certFile, options.keyFile)),
    afterClose: () => watcher?.stop(),
    // HTTPS: the real pair replaces this in beforeListen, before the server exists.
    tls: { cert: "", key: "" },
    errorReply: (status, route, message) => json(status, route, { message }),
    handler: ({ method, path, body }) => {
      if (path === "/healthz" && method === "GET") return text(200, path, "ok\n");
      if (path === "/readyz" && method === "GET") {
        const ready = certificateReadiness(pair, now());
        return text(ready.ok ? 200 : 503, path, `${ready.reason}\n`);
      }
      if (path !== "/mutate") return json(404, "not-found", { message: "not found: POST /mutate" });
      if (method !== "POST") return json(405, path, { message: "POST an AdmissionReview to /mutate" });
      const answer = answerReview(body.toString("utf8"), options.defaults);
      if (answer.status === 400) {
        logger.log("warn", "malformed admission review", { reason: answer.message });
        return { ...json(400, path, { message: answer.message }), outcome: "error" };
      }
      logger.log(answer.summary.outcome === "deny" ? "warn" : "info", "admission review", {
        ...answer.summary,
        ...(answer.summary.outcome === "deny" ? { message: answer.review.response.status } : {}),
      });
      return { ...json(200, path, answer.review), outcome: reviewOutcome(answer.summary) };
    },
  });

  const listen = async (): Promise<ServerAddress> => {
    const address = await http.listen();
    const current = pair!;
    options.observer?.onCertificate(current, false);
    const stale = validityProblem(current, now());
    if (stale) {
      logger.log("warn", "the serving certificate is outside its dates: the API server will refuse it", {
        error: `--tls-cert-file ${options.certFile}: ${stale}`,
      });
    }
    watcher = watchTlsFiles(
      options.certFile,
      options.keyFile,
      current,
      (next) => {
        use(next);
        options.observer?.onCertificate(next, true);
        logger.log("info", "serving certificate reloaded", {
          fingerprint: next.fingerprint,
          notAfter: next.notAfter.toISOString(),
        });
      },
      (error) => {
        options.observer?.onCertificateReloadFailure();
        logger.log("warn", "serving certificate not reloaded; keeping the previous one", {
          error: error.message,
        });
      },
      options.tlsPollMs,
      now,
    );
    return address;
  };

  return {
    listen,
    close: () => http.close(),
    get address() {
      return http.address;
    },
  };
};
