/**
 * The alert rules of examples/monitoring/: one source (generate.ts) for the
 * plain rules file and the PrometheusRule, both as committed; valid for
 * promtool; every alert with what an operator needs; and promtool's unit tests
 * (examples/monitoring/tests/) making each alert fire, resolve, and stay
 * silent on a healthy series.
 */
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { promtool } from "../support/promtool.js";
import { tempDir } from "../support/tmp.js";
import {
  type AlertRule,
  alertsOf,
  anchorOf,
  generateRules,
  MONITORING,
  README,
  type RulesFile,
  readYaml,
  scrapeJobsOf,
} from "./support.js";

const FILES = ["credbridge.rules.yaml", "prometheus-rule.yaml"];

interface RuleTestFile {
  rule_files: string[];
  tests: {
    name: string;
    alert_rule_test: { eval_time: string; alertname: string; exp_alerts: unknown[] }[];
  }[];
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
let rules: RulesFile;
let alerts: AlertRule[];
let testFiles: string[];

beforeAll(async () => {
  tmp = await tempDir("credbridge-rules-");
  rules = await readYaml<RulesFile>(join(MONITORING, "credbridge.rules.yaml"));
  alerts = alertsOf(rules);
  testFiles = (await readdir(join(MONITORING, "tests"))).filter((f) => f.endsWith(".yaml")).sort();
});
afterAll(() => tmp?.cleanup());

describe("examples/monitoring's rules, from one source", () => {
  it("are exactly what generate.ts writes: edit the generator, then run it", async () => {
    await generateRules(tmp.path("generated"));
    for (const file of FILES) {
      expect(
        await readFile(join(MONITORING, file), "utf8"),
        `${file} differs from what examples/monitoring/generate.ts writes: run node examples/monitoring/generate.ts`,
      ).toBe(await readFile(tmp.path("generated", file), "utf8"));
    }
  });

  it("the PrometheusRule holds the same groups as the rules file, and both pass promtool check rules", async () => {
    const operator = await readYaml<{ apiVersion: string; kind: string; spec: RulesFile }>(
      join(MONITORING, "prometheus-rule.yaml"),
    );
    expect([operator.apiVersion, operator.kind]).toEqual(["monitoring.coreos.com/v1", "PrometheusRule"]);
    expect(operator.spec).toEqual(rules);
    const spec = tmp.path("operator-spec.yaml");
    await writeFile(spec, stringify(operator.spec));
    for (const file of [join(MONITORING, "credbridge.rules.yaml"), spec]) {
      const check = await promtool(["check", "rules", file]);
      expect(check.code, `${check.stdout}${check.stderr}`).toBe(0);
      expect(check.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
    }
  });

  it("give every alert a severity, a summary, a description that says what to check first, and a runbook in the README", async () => {
    const readme = await readFile(README, "utf8");
    const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        "CredbridgeCredentialsExpiring",
        "CredbridgeRefreshFailing",
        "CredbridgeNotReady",
        "CredbridgeStsThrottled",
        "CredbridgeSidecarDown",
        "CredbridgeSidecarsAbsent",
        "CredbridgeWebhookDown",
        "CredbridgeWebhookAbsent",
        "CredbridgeWebhookCertificateExpiring",
        "CredbridgeWebhookCertificateExpired",
        "CredbridgeWebhookDenyingPods",
        "CredbridgeWebhookReviewErrors",
      ]),
    );
    for (const a of alerts) {
      expect(["critical", "warning"], a.alert).toContain(a.labels.severity);
      expect(a.annotations.summary, a.alert).toBeTruthy();
      expect(a.annotations.description, a.alert).toMatch(/First check/);
      const url = new URL(a.annotations.runbook_url!);
      expect(`${url.origin}${url.pathname}`).toBe(
        "https://github.com/credbridge/credbridge/blob/main/README.md",
      );
      expect(anchors, `README.md has no heading for ${url.hash}`).toContain(url.hash.slice(1));
      // The refresh-failing alert carries the error's class, never its text.
      expect(a.expr).not.toMatch(/message|reason/);
    }
  });

  it("take their thresholds from the exported margin, refresh timeout and mandatory window, not from seconds written in", () => {
    const expiring = alerts.find((a) => a.alert === "CredbridgeCredentialsExpiring")!;
    expect(expiring.expr).toMatch(/credbridge_min_remaining_seconds \+ credbridge_refresh_timeout_seconds/);
    expect(expiring.expr).toMatch(/credbridge_mandatory_window_seconds/);
    expect(expiring.expr).not.toMatch(/\d{2,}/);
    const certificate = alerts.find((a) => a.alert === "CredbridgeWebhookCertificateExpiring")!;
    expect(certificate.expr).toMatch(/credbridge_webhook_certificate_not_before_timestamp_seconds/);
  });

  it("draw the expiry alert's threshold on the dashboard's time-to-expiry panel as the alert computes it", async () => {
    const dashboard = JSON.parse(await readFile(join(MONITORING, "credbridge-dashboard.json"), "utf8")) as {
      panels: { title: string; targets?: { legendFormat: string; expr: string }[] }[];
    };
    const line = dashboard.panels
      .find((p) => p.title === "Time to expiry, per pod")!
      .targets!.find((t) => t.legendFormat.endsWith("alert threshold"))!.expr;
    const expiring = alerts.find((a) => a.alert === "CredbridgeCredentialsExpiring")!.expr;
    const threshold =
      /^credbridge_credentials_expiration_timestamp_seconds - time\(\)\s*<\s*\(([\s\S]*)\)$/.exec(
        expiring,
      )![1]!;
    const normal = (e: string) =>
      e.replaceAll('{namespace=~"$namespace", pod=~"$pod"}', "").replace(/\s+/g, " ").trim();
    expect(normal(line)).toBe(normal(threshold));
  });

  it("compare with Prometheus's clock only moments the sidecar did not take from its own wall clock: expirations AWS or the CA set", () => {
    const withTime = alerts.filter((a) => a.expr.includes("time()"));
    expect(withTime.map((a) => a.alert).sort()).toEqual([
      "CredbridgeCredentialsExpiring",
      "CredbridgeWebhookCertificateExpired",
      "CredbridgeWebhookCertificateExpiring",
    ]);
    for (const a of withTime) {
      const moments = [...a.expr.matchAll(/\b\w+_timestamp_seconds\b/g)].map((m) => m[0]);
      expect(moments.length, a.alert).toBeGreaterThan(0);
      for (const m of moments) {
        expect(
          [
            "credbridge_credentials_expiration_timestamp_seconds",
            "credbridge_webhook_certificate_expiration_timestamp_seconds",
            "credbridge_webhook_certificate_not_before_timestamp_seconds",
          ],
          `${a.alert} compares ${m} with time()`,
        ).toContain(m);
      }
    }
  });

  it("watch the scrapes themselves: each job down (with a for:) and each job without a target", () => {
    const expr = (name: string) => alerts.find((a) => a.alert === name)!;
    const jobs = scrapeJobsOf(rules);
    expect(jobs).toEqual({ sidecar: "credbridge", webhook: "credbridge-webhook" });
    expect(expr("CredbridgeSidecarDown").expr).toBe(`up{job="${jobs.sidecar}"} == 0`);
    expect(expr("CredbridgeWebhookDown").expr).toBe(`up{job="${jobs.webhook}"} == 0`);
    expect(expr("CredbridgeSidecarsAbsent").expr).toBe(`absent(up{job="${jobs.sidecar}"})`);
    expect(expr("CredbridgeWebhookAbsent").expr).toBe(`absent(up{job="${jobs.webhook}"})`);
    for (const name of [
      "CredbridgeSidecarDown",
      "CredbridgeWebhookDown",
      "CredbridgeSidecarsAbsent",
      "CredbridgeWebhookAbsent",
    ]) {
      expect(expr(name).for, name).toBeTruthy();
    }
  });
});

describe("promtool test rules examples/monitoring/tests", () => {
  it("passes", async () => {
    expect(testFiles.length).toBeGreaterThan(0);
    const result = await promtool(["test", "rules", ...testFiles], { cwd: join(MONITORING, "tests") });
    expect(result.code, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout.match(/SUCCESS/g)).toHaveLength(testFiles.length);
  });

  it("makes every alert fire, then resolve, and keeps it silent on a healthy series", async () => {
    const groups = (
      await Promise.all(testFiles.map((f) => readYaml<RuleTestFile>(join(MONITORING, "tests", f))))
    ).flatMap((file) => {
      expect(file.rule_files).toEqual(["../credbridge.rules.yaml"]);
      return file.tests;
    });
    const seconds = (d: string) => {
      let total = 0;
      for (const [, n, unit] of d.matchAll(/(\d+)(h|m|s)/g))
        total += Number(n) * { h: 3600, m: 60, s: 1 }[unit!]!;
      return total;
    };
    for (const { alert } of alerts) {
      const cases = groups.map((g) => ({
        name: g.name,
        evals: g.alert_rule_test
          .filter((t) => t.alertname === alert)
          .sort((a, b) => seconds(a.eval_time) - seconds(b.eval_time)),
      }));
      const firesThenResolves = cases.some(({ evals }) => {
        const fired = evals.findIndex((t) => t.exp_alerts.length > 0);
        return (
          fired > 0 &&
          evals[0]!.exp_alerts.length === 0 &&
          evals.slice(fired + 1).some((t) => t.exp_alerts.length === 0)
        );
      });
      expect(firesThenResolves, `no test makes ${alert} go from silent to firing to resolved`).toBe(true);
      const silent = cases.filter(
        ({ name, evals }) =>
          /stays? silent/.test(name) && evals.length >= 2 && evals.every((t) => t.exp_alerts.length === 0),
      );
      expect(silent.length, `no healthy series keeps ${alert} silent`).toBeGreaterThan(0);
    }
  });

  it("fail for every alert made to fire always, and for every alert made never to fire", async () => {
    const mutant = async (kind: string, expr: string) => {
      const dir = tmp.path(`mutant-${kind}`);
      const mutated = structuredClone(rules);
      for (const r of alertsOf(mutated)) r.expr = expr;
      await mkdir(join(dir, "tests"), { recursive: true });
      await writeFile(join(dir, "credbridge.rules.yaml"), stringify(mutated));
      for (const f of testFiles) await copyFile(join(MONITORING, "tests", f), join(dir, "tests", f));
      return { kind, ...(await promtool(["test", "rules", ...testFiles], { cwd: join(dir, "tests") })) };
    };
    for (const r of await Promise.all([mutant("always", "vector(1)"), mutant("never", "vector(0) > 1")])) {
      expect(r.code, `every alert firing ${r.kind} still passes`).not.toBe(0);
      // promtool names each case that failed: every alert has one that notices.
      for (const { alert } of alerts) {
        expect(`${r.stdout}${r.stderr}`, `${alert} firing ${r.kind}`).toContain(`alertname: ${alert},`);
      }
    }
  });
});
