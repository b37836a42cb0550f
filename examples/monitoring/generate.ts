/**
 * credbridge's Prometheus alerting rules, from this one source, as a plain
 * rules file (credbridge.rules.yaml) and as the Prometheus Operator's
 * PrometheusRule (prometheus-rule.yaml). Edit the alerts here, then:
 *
 *   node examples/monitoring/generate.ts             # rewrites both files beside this one
 *   node examples/monitoring/generate.ts --out DIR   # writes them to DIR instead
 *   node examples/monitoring/generate.ts --compress 60 --out DIR
 *
 * `--compress N` divides every duration of the rules (each `for:`, range
 * window and duration in an expression) by N, for tests that run an outage in
 * seconds; thresholds taken from the exported margin and refresh timeout
 * follow whatever the sidecar was started with. The test suite fails when the
 * committed files differ from this generator's output (test/monitoring).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stringify } from "yaml";

export interface RuleOptions {
  /** Every duration divided by this. Default 1. */
  compress?: number;
  /** Where the runbook anchors live. Default the README on GitHub. */
  runbookBase?: string;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: "critical" | "warning" };
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export const RUNBOOK_BASE = "https://github.com/credbridge/credbridge/blob/main/README.md";

/** Seconds → a Prometheus duration ("2m", "10s", "1500ms"), in the largest unit that is exact. */
export const promDuration = (seconds: number): string => {
  const ms = Math.round(seconds * 1000);
  if (ms <= 0) throw new Error(`a rule duration must be positive, got ${seconds} s`);
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
};

/**
 * The scrape jobs the `up` alerts watch: prometheus.yml names its jobs so, and
 * pod-monitors.yaml sets the Operator's `job` label to the same (the tests
 * check both). Rename them here and there together.
 */
export const JOBS = { sidecar: "credbridge", webhook: "credbridge-webhook" } as const;

/** Where an alert is, in its annotations: the pod when Kubernetes labels are there, else the target. */
const WHERE =
  "{{ with $labels.pod }}pod {{ $labels.namespace }}/{{ . }}{{ else }}{{ $labels.instance }}{{ end }}";

/** The durations every rule is written in, in seconds of real time before compression. */
const D = {
  /** How long refreshes may fail before anyone is told: well inside the 5 minutes between the background refresh and the margin. */
  refreshFailing: 120,
  notReadyFor: 120,
  /**
   * How far back readiness is remembered: longer than a crash-looping
   * container's longest wait for its restart (the kubelet's back-off ends at
   * 5 minutes), so its lives' not-ready scrapes read as one run.
   */
  readinessMemory: 600,
  sidecarDownFor: 300,
  sidecarsAbsentFor: 900,
  webhookDownFor: 120,
  webhookAbsentFor: 300,
  throttleWindow: 600,
  deniedWindow: 600,
  errorWindow: 300,
  certificateFor: 900,
} as const;

/** The alerts on `credbridge serve` sidecars and on the webhook. */
export const ruleGroups = (options: RuleOptions = {}): RuleGroup[] => {
  const compress = options.compress ?? 1;
  if (!(Number.isFinite(compress) && compress > 0)) {
    throw new Error(`--compress must be a positive number, got ${options.compress}`);
  }
  const base = options.runbookBase ?? RUNBOOK_BASE;
  const d = (key: keyof typeof D) => promDuration(D[key] / compress);
  const runbook = (alert: string) => `${base}#${alert.toLowerCase()}`;
  const rule = (r: Omit<AlertRule, "annotations"> & { summary: string; description: string }): AlertRule => ({
    alert: r.alert,
    expr: r.expr,
    ...(r.for === undefined ? {} : { for: r.for }),
    labels: r.labels,
    annotations: { summary: r.summary, description: r.description, runbook_url: runbook(r.alert) },
  });

  const up = (job: string) => `up{job="${job}"}`;
  const margin = "credbridge_min_remaining_seconds + credbridge_refresh_timeout_seconds";
  const mandatory = "credbridge_mandatory_window_seconds";

  const sidecar: AlertRule[] = [
    rule({
      alert: "CredbridgeCredentialsExpiring",
      // Time left below the margin plus one refresh at its timeout (a refresh started
      // now might not finish before the credentials fall inside the margin, where
      // nothing is served), and below the mandatory window (where the sidecar turns
      // unready): the background refresh starts before that window, so a healthy
      // sidecar has new credentials by then whatever its timeout, and the alert never
      // fires on a rotation. Each term is the sidecar's own, exported; the window is
      // the one the engine placed for the credentials held, shorter for short
      // sessions. The last `or` keeps the margin alone for a sidecar that exports no
      // window (one older than these rules). No `for:`: the time left only falls,
      // and a minute's wait would use up the minute this alert gives before nothing is
      // served. Time left is the expiration (AWS's moment) less Prometheus's clock:
      // the credentials stop working then whatever the sidecar's clock says.
      expr: [
        "credbridge_credentials_expiration_timestamp_seconds - time()",
        "  < (",
        `    (${margin} < ${mandatory})`,
        `    or ${mandatory}`,
        `    or ${margin}`,
        "  )",
      ].join("\n"),
      labels: { severity: "critical" },
      summary: `The credentials credbridge serves in ${WHERE} expire before another refresh can succeed`,
      description:
        `They expire in {{ $value | humanizeDuration }}: less than --min-remaining plus one refresh at --refresh-timeout, and inside the window where the sidecar is not ready, so the background refreshes that should have replaced them by now have failed. ` +
        "Inside the margin credbridge serves nothing, and the application's next AWS call fails. " +
        "First check the class of the failing refreshes (credbridge_refresh_last_error_info, or the CredbridgeRefreshFailing alert) " +
        "and the sidecar's log line 'refresh of … failed', which names the role and the fix.",
    }),
    rule({
      alert: "CredbridgeRefreshFailing",
      // How long it has failed is the sidecar's own measure, on its monotonic clock: a
      // moment on its wall clock against Prometheus's time() would be off by their skew.
      // It is in the expression, not in `for:`: when the class changes (Throttling,
      // then timeout) the alert's labels change, and a `for:` would start again while
      // the failing has not stopped.
      expr: [
        `(credbridge_refresh_failing_seconds > ${D.refreshFailing / compress})`,
        "  * ignoring(class) group_left(class) credbridge_refresh_last_error_info",
      ].join("\n"),
      labels: { severity: "warning" },
      summary: `credbridge's refreshes in ${WHERE} have failed for {{ $value | humanizeDuration }} ({{ $labels.class }})`,
      description:
        "Every refresh from the upstream has failed since then, the latest with {{ $labels.class }}; " +
        "credbridge keeps serving the credentials it holds until they fall inside the margin. " +
        "First check what the class means in the runbook (AccessDenied: the role's trust policy; InvalidIdentityToken: the cluster's OIDC provider in IAM; " +
        "Throttling: STS's quota; timeout or network: the way to STS), then the sidecar's log line 'refresh of … failed'.",
    }),
    rule({
      alert: "CredbridgeNotReady",
      // The last readiness scraped, within a window longer than a crash loop's restart
      // wait: a sidecar that restarts, never ready, is one run of not-ready scrapes
      // here (each restart's gap would otherwise end the series and start `for:`
      // again), and a restart into readiness resolves it at once. Only the sidecar's
      // own metrics: no kube-state-metrics needed.
      expr: `last_over_time(credbridge_ready[${d("readinessMemory")}]) == 0`,
      for: d("notReadyFor"),
      labels: { severity: "critical" },
      summary: `credbridge in ${WHERE} serves nothing: /readyz has failed for ${d("notReadyFor")}`,
      description:
        "At least one output cannot serve: no valid credentials outside the refresh window, the credentials file not written, " +
        "or the container token file unreadable. The application gets no credentials from this sidecar. " +
        `Restarts do not reset this alert: it reads the last /readyz scraped in the past ${d("readinessMemory")}. ` +
        "First check the reason /readyz gives (curl the pod's metrics port at /readyz), then the sidecar's log and its restarts (kubectl describe pod).",
    }),
    rule({
      alert: "CredbridgeStsThrottled",
      expr: `increase(credbridge_refresh_failures_total{class="Throttling"}[${d("throttleWindow")}]) > 0`,
      labels: { severity: "warning" },
      summary: `STS is throttling credbridge's refreshes in ${WHERE}`,
      description:
        `Refreshes refused with Throttling in the last ${d("throttleWindow")}: {{ $value | printf "%.0f" }}. ` +
        "STS's request quota is per account and region and shared by every caller: many sidecars refreshing together, " +
        "or another client of STS, can use it up. credbridge retries with backoff meanwhile. " +
        "First check how many refreshes the account makes (sum(rate(credbridge_refresh_duration_seconds_count[1h])) across the fleet) " +
        "and what else calls STS there; longer sessions (--duration) mean fewer refreshes.",
    }),
    rule({
      alert: "CredbridgeSidecarDown",
      // Once a sidecar stops answering scrapes, every other alert on it goes quiet
      // with its series: this is the one that speaks for it.
      expr: `${up(JOBS.sidecar)} == 0`,
      for: d("sidecarDownFor"),
      labels: { severity: "critical" },
      summary: `Prometheus cannot scrape credbridge in ${WHERE}: down for ${d("sidecarDownFor")}`,
      description:
        `The sidecar's metrics port has answered no scrape for ${d("sidecarDownFor")}: the process is hung or gone (crash-looping, OOM-killed, its node lost), ` +
        "or Prometheus cannot reach the port (a NetworkPolicy, a renamed port). Its refreshes, readiness and time to expiry go unwatched meanwhile, " +
        "and a hung sidecar refreshes nothing while the application's credentials run out. " +
        "First check the pod (kubectl describe pod: restarts, last state OOMKilled, probe failures), then the target's error on Prometheus's Targets page.",
    }),
    rule({
      alert: "CredbridgeSidecarsAbsent",
      expr: `absent(${up(JOBS.sidecar)})`,
      for: d("sidecarsAbsentFor"),
      labels: { severity: "warning" },
      summary: `Prometheus scrapes no credbridge sidecar: job ${JOBS.sidecar} has had no target for ${d("sidecarsAbsentFor")}`,
      description:
        "Either no pod runs a credbridge sidecar any more, or the scrape configuration no longer finds them " +
        "(the PodMonitor not selected by your Prometheus, the port renamed): then no sidecar alert can fire. " +
        `First check Prometheus's Targets page for the ${JOBS.sidecar} job, then whether pods still run a container named credbridge. ` +
        "A cluster that runs no sidecar on purpose drops this alert.",
    }),
  ];

  const expiration = "credbridge_webhook_certificate_expiration_timestamp_seconds";
  const webhook: AlertRule[] = [
    rule({
      alert: "CredbridgeWebhookCertificateExpiring",
      // A quarter of its lifetime left: past the third at which cert-manager renews by
      // default, so the renewal failed or the webhook did not take the new files.
      expr: [
        `${expiration} - time()`,
        `  < (${expiration} - credbridge_webhook_certificate_not_before_timestamp_seconds) / 4`,
      ].join("\n"),
      for: d("certificateFor"),
      labels: { severity: "warning" },
      summary: `The webhook's serving certificate in ${WHERE} expires in {{ $value | humanizeDuration }}`,
      description:
        "Less than a quarter of its lifetime is left, past the point where cert-manager renews it (a third, by default). " +
        "Once it expires the API server cannot call the webhook, and with failurePolicy Fail no pod can be created in the opted-in namespaces. " +
        "First check the renewal (kubectl -n credbridge describe certificate credbridge-webhook), " +
        "then whether the webhook took the new files (credbridge_webhook_certificate_reload_failures_total, its log line 'serving certificate not reloaded').",
    }),
    rule({
      alert: "CredbridgeWebhookCertificateExpired",
      expr: `${expiration} - time() <= 0`,
      labels: { severity: "critical" },
      summary: `The webhook's serving certificate in ${WHERE} has expired`,
      description:
        "The API server refuses the webhook's TLS: with failurePolicy Fail, no pod can be created in the opted-in namespaces. " +
        "First check the Secret credbridge-webhook-tls and its Certificate (kubectl -n credbridge describe certificate credbridge-webhook); " +
        "without cert-manager, run openssl-certificate.sh again. The webhook takes new files without a restart.",
    }),
    rule({
      alert: "CredbridgeWebhookDown",
      // Shorter than a sidecar's: with failurePolicy Fail every pod creation in the
      // opted-in namespaces needs the webhook now.
      expr: `${up(JOBS.webhook)} == 0`,
      for: d("webhookDownFor"),
      labels: { severity: "critical" },
      summary: `Prometheus cannot scrape the webhook in ${WHERE}: down for ${d("webhookDownFor")}`,
      description:
        `The webhook's metrics port has answered no scrape for ${d("webhookDownFor")}: the process is hung or gone, or Prometheus cannot reach it. ` +
        "If the API server cannot reach it either, failurePolicy Fail refuses every pod creation in the opted-in namespaces. " +
        "First check kubectl -n credbridge get pods,events (restarts, probe failures, OOMKilled), " +
        "then whether a pod can be created in an opted-in namespace (kubectl run --dry-run=server).",
    }),
    rule({
      alert: "CredbridgeWebhookAbsent",
      expr: `absent(${up(JOBS.webhook)})`,
      for: d("webhookAbsentFor"),
      labels: { severity: "critical" },
      summary: `Prometheus scrapes no credbridge webhook: job ${JOBS.webhook} has had no target for ${d("webhookAbsentFor")}`,
      description:
        "The webhook's pods are gone (the Deployment deleted or scaled to zero, its pods unscheduled) or Prometheus no longer finds them. " +
        "While its MutatingWebhookConfiguration stays, failurePolicy Fail refuses every pod creation in the opted-in namespaces. " +
        "First check kubectl -n credbridge get deployment,pods, " +
        `then Prometheus's Targets page for the ${JOBS.webhook} job (the PodMonitor selected, the port named metrics).`,
    }),
    rule({
      alert: "CredbridgeWebhookDenyingPods",
      expr: `increase(credbridge_webhook_reviews_total{outcome="denied"}[${d("deniedWindow")}]) > 0`,
      labels: { severity: "warning" },
      summary: `The webhook in ${WHERE} refused pods in the last ${d("deniedWindow")}`,
      description:
        `Pod creations refused in the last ${d("deniedWindow")}: {{ $value | printf "%.0f" }}, for credbridge.io/* annotations the webhook cannot honour; ` +
        "their controllers keep retrying and the pods never start. " +
        "First check the webhook's log lines 'admission review' with outcome deny: each names the namespace, the pod and the annotation to fix " +
        "(kubectl get events in that namespace shows the same message).",
    }),
    rule({
      alert: "CredbridgeWebhookReviewErrors",
      expr: `increase(credbridge_webhook_reviews_total{outcome="error"}[${d("errorWindow")}]) > 0`,
      labels: { severity: "warning" },
      summary: `The webhook in ${WHERE} failed reviews in the last ${d("errorWindow")}`,
      description:
        `Reviews answered with an error instead of an AdmissionReview in the last ${d("errorWindow")}: {{ $value | printf "%.0f" }} (malformed, too large, the webhook busy, or a failure inside it); ` +
        "with failurePolicy Fail each was a refused pod creation. " +
        'First check credbridge_requests_total{server="webhook"} by status (413: a pod larger than the webhook accepts; 503: too many reviews at once; 400: not an AdmissionReview v1) ' +
        "and the webhook's log lines 'malformed admission review' and 'request handler failed'.",
    }),
  ];

  return [
    { name: "credbridge", rules: sidecar },
    { name: "credbridge-webhook", rules: webhook },
  ];
};

const HEADER = [
  "# Generated by examples/monitoring/generate.ts: edit that file, then run",
  "#   node examples/monitoring/generate.ts",
  "# (the tests fail while this file differs from what it writes).",
];

const yaml = (value: unknown, comment: string[]): string =>
  `${[...HEADER, ...comment].join("\n")}\n${stringify(value, { lineWidth: 0, blockQuote: "literal" })}`;

/** Both files' contents, by file name. */
export const renderRuleFiles = (options: RuleOptions = {}): Record<string, string> => {
  const groups = ruleGroups(options);
  return {
    "credbridge.rules.yaml": yaml({ groups }, [
      "# Plain Prometheus: list this file under rule_files in prometheus.yml.",
    ]),
    "prometheus-rule.yaml": yaml(
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "credbridge", labels: { "app.kubernetes.io/name": "credbridge" } },
        spec: { groups },
      },
      [
        "# The Prometheus Operator: kubectl apply -n <namespace> -f prometheus-rule.yaml, with the label",
        "# your Prometheus's ruleSelector matches added (kube-prometheus-stack: release: <its release name>).",
      ],
    ),
  };
};

const main = (argv: string[]): void => {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: "string" }, compress: { type: "string" } },
    strict: true,
  });
  const out = resolve(values.out ?? dirname(fileURLToPath(import.meta.url)));
  const compress = values.compress === undefined ? 1 : Number(values.compress);
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(renderRuleFiles({ compress }))) {
    writeFileSync(join(out, name), text);
  }
};

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
