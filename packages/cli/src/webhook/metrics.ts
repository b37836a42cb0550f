import type { RequestInfo } from "@credbridge/http";
import { buildInfo } from "../metrics/build-info.js";
import { createExposition, labelPairs } from "../metrics/exposition.js";
import { createHistogram } from "../metrics/histogram.js";
import { createRequestCounter } from "../metrics/request-counter.js";
import type { ProbeResult } from "../serve/probes.js";
import { REVIEW_OUTCOMES, type ReviewOutcome } from "./review.js";
import type { WebhookObserver } from "./server.js";
import { certificateReadiness, type TlsPair } from "./tls-files.js";

/**
 * Upper bounds of the review latency histogram, in seconds: a review is
 * answered from memory in about a millisecond; the API server gives up at the
 * webhook's `timeoutSeconds` (5 in the example, 10 by default).
 */
const REVIEW_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

const H = {
  reviews:
    "AdmissionReviews answered, by outcome: allowed (unchanged), mutated (the sidecar injected), denied (an annotation refused), error (no review answered: malformed, too large, busy, or a failure).",
  duration: "Time from a review's arrival to its answer.",
  notAfter: "When the serving certificate in use expires (Unix time).",
  notBefore: "When the serving certificate in use became valid (Unix time).",
  reloads: "Serving certificates taken after their files changed.",
  reloadFailures: "Changed certificate files that could not be taken (the previous pair stays in use).",
} as const;

/**
 * The server core's own answers that end a review before the handler could
 * answer it: a body too large (413) or over the memory budget (503), and a
 * handler that failed (500). The core gives them after its `Host` check but
 * before routing, so the path is not known: a POST refused so counts as a
 * failed review, since the API server only ever POSTs reviews (a client that
 * could get one of these could as well POST garbage to /mutate). Refused
 * before (a foreign or doubled `Host`, a bad target) or routed elsewhere, a
 * request is no review.
 */
const REVIEWS_THE_CORE_ENDED = new Set(["too-large", "busy", "error"]);

/**
 * The webhook's metrics and readiness, for its plain-HTTP metrics listener.
 * A review is what the handler answered with an outcome (every POST to
 * /mutate: allowed, mutated, denied, or error for a malformed one), or a POST
 * the core ended itself (above).
 */
export const createWebhookMetrics = (now: () => number = Date.now) => {
  const reviews = new Map<ReviewOutcome, number>(REVIEW_OUTCOMES.map((o) => [o, 0]));
  const outcomePairs = new Map<ReviewOutcome, string>(
    REVIEW_OUTCOMES.map((o) => [o, labelPairs({ outcome: o })]),
  );
  const latency = createHistogram(REVIEW_BUCKETS);
  const requests = createRequestCounter();
  const build = buildInfo("webhook");
  let certificate: Pick<TlsPair, "notBefore" | "notAfter"> | undefined;
  let reloads = 0;
  let reloadFailures = 0;

  /** The review's outcome, or undefined for a request that was no review. */
  const outcomeOf = (info: RequestInfo): ReviewOutcome | undefined => {
    if (info.outcome !== undefined) {
      const o = info.outcome as ReviewOutcome;
      return reviews.has(o) ? o : "error";
    }
    return info.method === "POST" && REVIEWS_THE_CORE_ENDED.has(info.path) ? "error" : undefined;
  };

  const metrics = {
    onRequest(info: RequestInfo): void {
      requests.onRequest(info);
      const o = outcomeOf(info);
      if (o === undefined) return;
      reviews.set(o, reviews.get(o)! + 1);
      latency.observe(info.durationMs / 1000);
    },
    onCertificate(pair: TlsPair, reloaded: boolean): void {
      certificate = { notBefore: pair.notBefore, notAfter: pair.notAfter };
      if (reloaded) reloads++;
    },
    onCertificateReloadFailure(): void {
      reloadFailures++;
    },
    render(): string {
      const out = createExposition();
      build(out);
      for (const [o, n] of reviews) {
        out.add("credbridge_webhook_reviews_total", "counter", H.reviews, outcomePairs.get(o)!, n);
      }
      out.histogram("credbridge_webhook_review_duration_seconds", H.duration, "", latency.snapshot());
      out.declare("credbridge_webhook_certificate_expiration_timestamp_seconds", "gauge", H.notAfter);
      out.declare("credbridge_webhook_certificate_not_before_timestamp_seconds", "gauge", H.notBefore);
      if (certificate) {
        const { notAfter, notBefore } = certificate;
        out.add(
          "credbridge_webhook_certificate_expiration_timestamp_seconds",
          "gauge",
          H.notAfter,
          "",
          notAfter.getTime() / 1000,
        );
        out.add(
          "credbridge_webhook_certificate_not_before_timestamp_seconds",
          "gauge",
          H.notBefore,
          "",
          notBefore.getTime() / 1000,
        );
      }
      out.add("credbridge_webhook_certificate_reloads_total", "counter", H.reloads, "", reloads);
      out.add(
        "credbridge_webhook_certificate_reload_failures_total",
        "counter",
        H.reloadFailures,
        "",
        reloadFailures,
      );
      requests.collect(out);
      return out.render();
    },
    /** Live while the process answers: the webhook has no loop of its own that could stall. */
    live: (): ProbeResult => ({ ok: true, reason: "ok" }),
    /** Ready while the serving certificate is valid, as the HTTPS port's /readyz. */
    ready: (): ProbeResult => certificateReadiness(certificate, now()),
  } satisfies WebhookObserver & Record<string, unknown>;
  return metrics;
};

export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;
