/**
 * The alert rules and the dashboard against a real Prometheus (Debian's),
 * started here on loopback with a generated config that scrapes a running
 * `credbridge serve` (IRSA against the STS emulator, 30-second sessions,
 * --min-remaining 2, --refresh-timeout 15) and a running `credbridge webhook`
 * every second, and evaluates the rules generated from examples/monitoring's
 * one source with every duration divided by 60 (a minute of the rules is a
 * second here). Healthy rotations fire nothing, though the refresh timeout is
 * longer than the engine's head start on these short sessions. STS then
 * throttles every call: the throttling, refresh-failure, readiness and expiry
 * alerts must reach `firing`, and resolve once STS answers again. Last, both
 * processes stop (SIGSTOP) and the alerts on their scrapes fire. Loopback
 * only; bounded in time.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cleanEnv, listeningUrl, loopbackServers, type RunningCli, startCli } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";
import { makeCa, SERVICE_HOST, secretVolume } from "../support/pki.js";
import { lintMetrics } from "../support/promtool.js";
import { admissionReview, callWebhook, webhookArgs } from "../webhook/support/admission.js";
import { DEFAULTS, FIXTURES, readPod } from "../webhook/support/pods.js";
import { type DiscoveredPod, withDiscoveredPods } from "./discovery.js";
import { type Prometheus, type PrometheusAlert, startPrometheus } from "./prometheus.js";
import { generateRules, MONITORING, readYaml } from "./support.js";

/** A minute of the rules is a second here. */
const COMPRESS = 60;
const SESSION_SECONDS = 30;
const SIDECAR_POD = { namespace: "shop", name: "registry-0" };
const WEBHOOK_POD = {
  namespace: "credbridge",
  name: "credbridge-webhook-0",
  labels: { "app.kubernetes.io/name": "credbridge-webhook" },
};
/** The labels the committed scrape configs give each target. */
const SIDECAR = { namespace: "shop", pod: "registry-0" };
const WEBHOOK = { namespace: "credbridge", pod: "credbridge-webhook-0" };
/**
 * Longer than the engine's head start on these sessions (it refreshes 12.5–16 s
 * before expiry and turns unready at 9 s): the expiry alert must still wait
 * for the mandatory window, not fire on every rotation.
 */
const REFRESH_TIMEOUT_SECONDS = 15;
/** Prometheus evaluates the rules every second (startPrometheus's default interval). */
const EVALUATION_MS = 1_000;
/** A refresh this long after Prometheus started had its seconds before it scraped. */
const ROTATION_AFTER_START_MS = 6_000;
/** The alerts an STS that throttles every call must bring to firing, then resolve. */
const OUTAGE_ALERTS = [
  "CredbridgeStsThrottled",
  "CredbridgeRefreshFailing",
  "CredbridgeNotReady",
  "CredbridgeCredentialsExpiring",
] as const;

let fx: Awaited<ReturnType<typeof irsaFixture>>;
let serve: RunningCli;
let webhook: RunningCli;
let prometheus: Prometheus;
let serveMetrics: string;
let webhookMetrics: string;
let caBundle: string;
let webhookPort: number;
/** When Prometheus answered ready (its first scrape follows within a second). */
let prometheusStartedAt: number;

const byName = (alerts: PrometheusAlert[], name: string) => alerts.filter((a) => a.labels.alertname === name);

/** Waits until `done` holds of Prometheus's alerts; bounded. */
const untilAlerts = async (
  done: (alerts: PrometheusAlert[]) => boolean,
  timeoutMs: number,
  what: string | (() => string),
) => {
  let alerts: PrometheusAlert[] = [];
  await vi.waitFor(
    async () => {
      alerts = await prometheus.alerts();
      if (!done(alerts)) {
        throw new Error(
          `${typeof what === "string" ? what : what()} within ${timeoutMs} ms; alerts: ${JSON.stringify(alerts.map((a) => [a.labels.alertname, a.state]))}`,
        );
      }
    },
    { timeout: timeoutMs, interval: 200 },
  );
  return alerts;
};

beforeAll(async () => {
  fx = await irsaFixture({ lifetimeSeconds: SESSION_SECONDS });
  const tokenFile = fx.tmp.path("container-token");
  serve = startCli(
    [
      "serve",
      "--credentials-file",
      fx.tmp.path("home", ".aws", "credentials"),
      ...loopbackServers(tokenFile),
      "--metrics",
      "127.0.0.1:0",
      "--min-remaining",
      "2",
      "--refresh-timeout",
      String(REFRESH_TIMEOUT_SECONDS),
    ],
    fx.env(),
  );
  const ca = await makeCa(fx.tmp.path("ca"));
  caBundle = ca.caBundle;
  const volume = await secretVolume(fx.tmp.path("serving-cert"));
  const pair = await ca.issue([SERVICE_HOST, "127.0.0.1"]);
  await volume.write({ "tls.crt": pair.cert, "tls.key": pair.key });
  webhook = startCli(
    [...webhookArgs(volume), "--metrics", "127.0.0.1:0"],
    cleanEnv(fx.tmp.dir, { CREDBRIDGE_ADDRESS_IMAGE: DEFAULTS.addressImage }),
  );
  [serveMetrics, webhookMetrics] = await Promise.all([
    listeningUrl(serve, "metrics"),
    listeningUrl(webhook, "metrics"),
  ]);
  webhookPort = Number(
    new URL(String((await webhook.waitFor((l) => l.msg === "webhook listening")).url)).port,
  );

  // The rules from their one source, every duration divided by COMPRESS, and the
  // committed scrape configs, relabelling included, over the pods they would discover:
  // the sidecar's pod (its application's own metrics port beside it) and the webhook's.
  await generateRules(fx.tmp.path("rules"), COMPRESS);
  const committed = await readYaml<{ scrape_configs: Parameters<typeof withDiscoveredPods>[0] }>(
    join(MONITORING, "prometheus.yml"),
  );
  const pods: DiscoveredPod[] = [
    {
      ...SIDECAR_POD,
      containers: [
        { name: "credbridge", ports: [{ name: "credbridge", url: serveMetrics }] },
        { name: "registry", ports: [{ name: "metrics", url: await listeningUrl(serve, "imds") }] },
      ],
    },
    {
      ...WEBHOOK_POD,
      containers: [
        {
          name: "webhook",
          ports: [
            { name: "https", url: String((await webhook.waitFor((l) => l.msg === "webhook listening")).url) },
            { name: "metrics", url: webhookMetrics },
          ],
        },
      ],
    },
  ];
  prometheus = await startPrometheus(fx.tmp.path("prometheus"), {
    rulesFile: fx.tmp.path("rules", "credbridge.rules.yaml"),
    scrapeConfigs: withDiscoveredPods(committed.scrape_configs, pods),
  });
  prometheusStartedAt = Date.now();
});

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all([serve?.stop(), webhook?.stop()]);
  await fx?.close();
});

describe("a real Prometheus scraping serve and the webhook", () => {
  it("scrapes the sidecar and the webhook and nothing else, as examples/monitoring/prometheus.yml relabels them; promtool check metrics finds nothing to fix in either", async () => {
    const targets = async () =>
      (await prometheus.targets())
        .map((t) => `${t.labels.job} ${t.labels.namespace}/${t.labels.pod} ${t.labels.instance} ${t.health}`)
        .sort();
    await expect
      .poll(targets, { timeout: 15_000, interval: 200 })
      .toEqual([
        `credbridge shop/registry-0 ${new URL(serveMetrics).host} up`,
        `credbridge-webhook credbridge/credbridge-webhook-0 ${new URL(webhookMetrics).host} up`,
      ]);
    for (const url of [serveMetrics, webhookMetrics]) {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(await lintMetrics(text), url).toBe("");
    }
  });

  it("fires the webhook's alerts on a denied and a failed review, and no sidecar alert while STS answers", async () => {
    // Traffic for every panel: each output asked, one refused; each review outcome.
    const container = await listeningUrl(serve, "container");
    const token = await readFile(fx.tmp.path("container-token"), "utf8");
    expect((await fetch(container, { headers: { authorization: token } })).status).toBe(200);
    expect((await fetch(container, { headers: { authorization: "wrong" } })).status).toBe(403);
    const imds = await listeningUrl(serve, "imds");
    expect((await fetch(`${imds}/latest/meta-data/iam/security-credentials/`)).status).toBe(200);
    const call = (body: unknown) => callWebhook(webhookPort, caBundle, JSON.stringify(body));
    expect((await call(admissionReview(readPod(`${FIXTURES}/harbor-registry-irsa.pod.yaml`)))).status).toBe(
      200,
    );
    expect((await call(admissionReview(readPod(`${FIXTURES}/no-annotation.pod.yaml`)))).status).toBe(200);
    expect((await call(admissionReview(readPod(`${FIXTURES}/bad-outputs.pod.yaml`)))).status).toBe(200);
    expect((await call({ not: "a review" })).status).toBe(400);

    const alerts = await untilAlerts(
      (a) =>
        ["CredbridgeWebhookDenyingPods", "CredbridgeWebhookReviewErrors"].every((n) =>
          byName(a, n).some((x) => x.state === "firing"),
        ),
      15_000,
      "the webhook's review alerts did not fire",
    );
    expect(byName(alerts, "CredbridgeWebhookDenyingPods")[0]!.labels).toMatchObject({
      ...WEBHOOK,
      outcome: "denied",
    });
    // The serving certificate has its day ahead: no certificate alert.
    expect(alerts.filter((a) => /Certificate/.test(a.labels.alertname!))).toEqual([]);
    // Healthy so far: no sidecar alert, not even pending.
    expect(alerts.filter((a) => a.labels.job === "credbridge")).toEqual([]);
  });

  it("fires nothing on healthy rotations with a --refresh-timeout longer than the refresh's head start; with STS throttling every call, the throttling, refresh-failure, readiness and expiry alerts fire; they resolve once STS answers", async () => {
    // A rotation under Prometheus's eyes: its credentials left less than the margin plus
    // the refresh timeout (17 s) for one to four seconds before the refresh replaced them,
    // every second of it scraped and evaluated.
    const watchedRotation = () =>
      fx.sts.issued.some(
        (c) =>
          c.expiration.getTime() - SESSION_SECONDS * 1000 > prometheusStartedAt + ROTATION_AFTER_START_MS,
      );
    const deadline = performance.now() + 2 * SESSION_SECONDS * 1000;
    while (!watchedRotation()) {
      expect(performance.now(), "a rotation after Prometheus started").toBeLessThan(deadline);
      // Every rotation is logged once its credentials are in: look again then.
      await serve
        .waitFor((l) => l.msg === "credentials refreshed" && watchedRotation(), deadline - performance.now())
        .catch(() => {});
    }
    // Begin the outage a second before the next refresh is due (STS's issued
    // expirations are exact; the engine refreshes from 16 s before expiry).
    const expiresAt = fx.sts.issued.at(-1)!.expiration.getTime();
    const startAt = expiresAt - 17_000;
    // Healthy until then: no sidecar alert, not even pending, at any look (one per evaluation).
    while (Date.now() < startAt) {
      expect((await prometheus.alerts()).filter((a) => a.labels.job === "credbridge")).toEqual([]);
      // The next evaluation would come after the start: begin the outage now, up to a second early.
      if (Date.now() + EVALUATION_MS >= startAt) break;
      await prometheus.nextEvaluation();
    }
    // Nor at any evaluation since Prometheus started: ALERTS keeps each alert's every state.
    // Its first evaluations, before its first scrape, find no sidecar target at all:
    // CredbridgeSidecarsAbsent pending then is right, and its `for:` kept it from firing.
    const history = async (selector: string) =>
      (await prometheus.query(`count_over_time(ALERTS{${selector}}[10m])`)).result;
    expect(await history('job="credbridge",alertname!="CredbridgeSidecarsAbsent"')).toEqual([]);
    expect(await history('alertname="CredbridgeSidecarsAbsent",alertstate="firing"')).toEqual([]);

    fx.sts.failAlways({ code: "Throttling", status: 400, message: "Rate exceeded" });
    const failingFrom = Date.now();
    const firedAfter: Record<string, number> = {};
    const alerts = await untilAlerts(
      (a) => {
        for (const name of OUTAGE_ALERTS) {
          if (firedAfter[name] === undefined && byName(a, name).some((x) => x.state === "firing")) {
            firedAfter[name] = Date.now() - failingFrom;
          }
        }
        return OUTAGE_ALERTS.every((n) => firedAfter[n] !== undefined);
      },
      SESSION_SECONDS * 1000,
      () => `not every outage alert fired (fired so far: ${JSON.stringify(firedAfter)})`,
    );
    const firstFailure = fx.sts.calls.find((c) => c.fault === "error")!.at - failingFrom;
    console.log(
      `live alerts, ms after STS began throttling (its first throttled call after ${firstFailure} ms): ${JSON.stringify(firedAfter)}`,
    );
    const failing = byName(alerts, "CredbridgeRefreshFailing").find((a) => a.state === "firing")!;
    expect(failing.labels).toMatchObject({ ...SIDECAR, class: "Throttling", severity: "warning" });
    expect(failing.annotations.summary).toMatch(/pod shop\/registry-0 have failed for .* \(Throttling\)/);
    const expiring = byName(alerts, "CredbridgeCredentialsExpiring")[0]!;
    expect(expiring.labels).toMatchObject({ ...SIDECAR, severity: "critical" });
    // Inside the mandatory window the engine placed (9 s), not at the margin plus the timeout (17 s).
    expect(Number(expiring.value)).toBeLessThan(9);
    expect(byName(alerts, "CredbridgeStsThrottled")[0]!.labels).toMatchObject({
      ...SIDECAR,
      class: "Throttling",
    });
    // Nothing of the error's message reaches a label or an annotation, and the
    // scrape while failing (the failing-since and last-error series there) still passes the lint.
    expect(JSON.stringify(alerts)).not.toContain("Rate exceeded");
    const failingScrape = await (await fetch(`${serveMetrics}/metrics`)).text();
    expect(failingScrape).toMatch(/^credbridge_refresh_last_error_info\{class="Throttling"\} 1$/m);
    expect(await lintMetrics(failingScrape)).toBe("");

    fx.sts.clearFaults();
    const recoveredFrom = Date.now();
    await untilAlerts(
      (a) => a.filter((x) => x.labels.job === "credbridge").length === 0,
      30_000,
      "the sidecar's alerts did not resolve after STS recovered",
    );
    console.log(`live alerts resolved ${Date.now() - recoveredFrom} ms after STS answered again`);
  }, 120_000);

  it("every panel of the dashboard returns series, its variables substituted as Grafana would", async () => {
    const dashboard = JSON.parse(
      await readFile(join(MONITORING, "credbridge-dashboard.json"), "utf8"),
    ) as Dashboard;
    const variables = dashboard.templating.list;
    expect(variables.find((v) => v.type === "datasource")?.query).toBe("prometheus");
    // The query variables, as Grafana runs label_values(): their values, then every panel with them chosen.
    const values: Record<string, string> = {};
    for (const v of variables.filter((v) => v.type === "query")) {
      const m = /^label_values\((.*), (\w+)\)$/.exec(v.query.query)!;
      const found = await prometheus.labelValues(m[2]!, substitute(m[1]!, values));
      expect(found.length, `variable ${v.name}`).toBeGreaterThan(0);
      values[v.name] = `(${found.join("|")})`;
    }
    expect(values).toEqual({ namespace: "(shop)", pod: "(registry-0)" });
    // Importable as it is: every panel and query on the datasource variable, ids unique.
    const panels = panelsOf(dashboard);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's reference to the datasource variable, not a JS template
    const DATASOURCE = "${datasource}";
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: "prometheus", uid: DATASOURCE });
      for (const t of p.targets) expect(t.datasource?.uid, p.title).toBe(DATASOURCE);
    }
    const targets = panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
    expect(targets.length).toBeGreaterThan(15);
    for (const { panel, expr } of targets) {
      const result = await prometheus.query(substitute(expr, values));
      expect(result.result.length, `${panel}: ${expr}`).toBeGreaterThan(0);
    }
  });

  it("fires CredbridgeSidecarDown and CredbridgeWebhookDown when both stop answering (SIGSTOP: a hung process), and resolves both once they run again", async () => {
    const DOWN_ALERTS = ["CredbridgeSidecarDown", "CredbridgeWebhookDown"];
    const stoppedFrom = Date.now();
    serve.child.kill("SIGSTOP");
    webhook.child.kill("SIGSTOP");
    const firedAfter: Record<string, number> = {};
    try {
      const alerts = await untilAlerts(
        (a) => {
          for (const name of DOWN_ALERTS) {
            if (firedAfter[name] === undefined && byName(a, name).some((x) => x.state === "firing")) {
              firedAfter[name] = Date.now() - stoppedFrom;
            }
          }
          return DOWN_ALERTS.every((n) => firedAfter[n] !== undefined);
        },
        30_000,
        () => `the down alerts did not fire (fired so far: ${JSON.stringify(firedAfter)})`,
      );
      console.log(`live down alerts, ms after SIGSTOP: ${JSON.stringify(firedAfter)}`);
      expect(byName(alerts, "CredbridgeSidecarDown")[0]!.labels).toMatchObject({
        ...SIDECAR,
        job: "credbridge",
        severity: "critical",
      });
      expect(byName(alerts, "CredbridgeWebhookDown")[0]!.labels).toMatchObject({
        ...WEBHOOK,
        job: "credbridge-webhook",
        severity: "critical",
      });
      // Their `for:` held them back: 5 and 2 minutes of the rules, 5 and 2 seconds here.
      expect(firedAfter.CredbridgeSidecarDown).toBeGreaterThanOrEqual(5_000);
      expect(firedAfter.CredbridgeWebhookDown).toBeGreaterThanOrEqual(2_000);
    } finally {
      serve.child.kill("SIGCONT");
      webhook.child.kill("SIGCONT");
    }
    const resumedFrom = Date.now();
    await untilAlerts(
      (a) => a.filter((x) => DOWN_ALERTS.includes(x.labels.alertname!)).length === 0,
      30_000,
      "the down alerts did not resolve once both ran again",
    );
    console.log(`live down alerts resolved ${Date.now() - resumedFrom} ms after SIGCONT`);
  }, 90_000);
});

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets: { expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}
interface Dashboard {
  templating: { list: { name: string; type: string; query: { query: string } & string }[] };
  panels: Panel[];
}

const panelsOf = (d: { panels: Panel[] }): Panel[] =>
  d.panels.flatMap((p) => (p.type === "row" ? (p.panels ?? []) : [p])).filter((p) => p.targets !== undefined);

/** Grafana's substitution for Prometheus: chosen values as a regex group, its interval macros. */
const substitute = (expr: string, values: Record<string, string>) =>
  expr
    .replaceAll(/\$(\w+)/g, (all, name: string) => values[name] ?? all)
    .replaceAll("$__rate_interval", "15s")
    .replaceAll("$__interval", "5s");
