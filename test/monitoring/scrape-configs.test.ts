/**
 * The scrape configurations of examples/monitoring/ name what the manifests
 * declare: the PodMonitors (the Prometheus Operator) and prometheus.yml's
 * relabelling (plain Prometheus) keep the sidecar's port, whether the webhook
 * injected it or a manifest was written by hand, and the webhook's metrics
 * port, and nothing else of those pods. (test/monitoring/live.test.ts runs
 * prometheus.yml's relabelling in a real Prometheus.)
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type Container, injectPod, parseInjectConfig, SIDECAR_NAME } from "@credbridge/cli";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { DEFAULTS, FIXTURES, readPod } from "../webhook/support/pods.js";
import { MONITORING, type RulesFile, readYaml, scrapeJobsOf } from "./support.js";

const KUBERNETES = fileURLToPath(new URL("../../examples/kubernetes/", import.meta.url));

type Ported = Container & { ports?: { name: string; containerPort: number }[] };
interface Workload {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: {
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec: { initContainers?: Ported[]; containers: Ported[] };
    };
  };
}

const workloads = async (file: string): Promise<Workload[]> =>
  parseAllDocuments(await readFile(`${KUBERNETES}${file}`, "utf8")).map((d) => d.toJS() as Workload);
const deploymentIn = async (file: string) => (await workloads(file)).find((o) => o.kind === "Deployment")!;

/** A container's `<container>;<port>` pairs, as relabelling joins the two meta labels. */
const pairs = (containers: Ported[]) =>
  containers.flatMap((c) => (c.ports ?? []).map((p) => `${c.name};${p.name}`));

/** The metrics port a credbridge container binds, by its name. */
const metricsPortName = (c: Ported) => {
  const port = Number(
    c.env
      ?.find((e) => e.name === "CREDBRIDGE_METRICS")
      ?.value?.split(":")
      .at(-1),
  );
  return c.ports?.find((p) => p.containerPort === port)?.name;
};

const injectedSidecar = (): Ported => {
  const pod = readPod(`${FIXTURES}/harbor-registry-irsa.pod.yaml`);
  const config = parseInjectConfig(
    pod.metadata?.annotations,
    pod.spec.containers.map((c) => c.name),
  )!;
  return injectPod(pod, config, DEFAULTS).spec.initContainers!.find((c) => c.name === SIDECAR_NAME) as Ported;
};

const handWritten = async () =>
  Promise.all(
    ["irsa", "pod-identity", "imds"].map(async (dir) => {
      const spec = (await deploymentIn(`${dir}/harbor-registry.yaml`)).spec!.template!.spec;
      return { dir, all: [...(spec.initContainers ?? []), ...spec.containers] };
    }),
  );

interface PodMonitor {
  metadata: { name: string };
  spec: {
    namespaceSelector: { any?: boolean; matchNames?: string[] };
    selector: { matchLabels?: Record<string, string> };
    podMetricsEndpoints: {
      port: string;
      relabelings?: {
        sourceLabels?: string[];
        regex?: string;
        action?: string;
        targetLabel?: string;
        replacement?: string;
      }[];
    }[];
  };
}

describe("examples/monitoring/pod-monitors.yaml", () => {
  it("scrapes the sidecar's port, injected or written by hand, and no other port of its pod", async () => {
    const [sidecars] = parseAllDocuments(await readFile(`${MONITORING}pod-monitors.yaml`, "utf8")).map(
      (d) => d.toJS() as PodMonitor,
    );
    expect(sidecars!.spec.namespaceSelector).toEqual({ any: true });
    /** Whether the PodMonitor keeps this container's port. */
    const keeps = (container: Ported, port: string) =>
      sidecars!.spec.podMetricsEndpoints.some(
        (e) =>
          e.port === port &&
          (e.relabelings ?? [])
            .filter((r) => r.action === "keep")
            .every(
              (r) =>
                r.sourceLabels?.join() === "__meta_kubernetes_pod_container_name" &&
                new RegExp(`^(?:${r.regex})$`).test(container.name),
            ),
      );
    const injected = injectedSidecar();
    expect(keeps(injected, metricsPortName(injected)!)).toBe(true);
    for (const { dir, all } of await handWritten()) {
      const sidecar = all.find((c) => c.name === "credbridge")!;
      expect(keeps(sidecar, metricsPortName(sidecar)!), dir).toBe(true);
      for (const c of all.filter((c) => c !== sidecar)) {
        for (const p of c.ports ?? []) expect(keeps(c, p.name), `${dir}: ${c.name} ${p.name}`).toBe(false);
      }
    }
  });

  it("scrapes the webhook's metrics port in its namespace, by the Deployment's own labels", async () => {
    const [, webhook] = parseAllDocuments(await readFile(`${MONITORING}pod-monitors.yaml`, "utf8")).map(
      (d) => d.toJS() as PodMonitor,
    );
    const deployment = await deploymentIn("webhook/webhook.yaml");
    expect(webhook!.spec.namespaceSelector.matchNames).toEqual([deployment.metadata.namespace]);
    expect(deployment.spec!.template!.metadata!.labels).toMatchObject(webhook!.spec.selector.matchLabels!);
    const container = deployment.spec!.template!.spec.containers[0]!;
    expect(webhook!.spec.podMetricsEndpoints.map((e) => e.port)).toEqual([metricsPortName(container)]);
  });
});

describe("the scrape jobs the alerts on the scrapes watch (up{job=…})", () => {
  it("are the job names prometheus.yml gives, and the job label each PodMonitor endpoint sets in place of the Operator's own", async () => {
    const jobs = scrapeJobsOf(await readYaml<RulesFile>(`${MONITORING}credbridge.rules.yaml`));
    const config = await readYaml<{ scrape_configs: { job_name: string }[] }>(`${MONITORING}prometheus.yml`);
    expect(config.scrape_configs.map((c) => c.job_name)).toEqual([jobs.sidecar, jobs.webhook]);
    const [sidecars, webhook] = parseAllDocuments(
      await readFile(`${MONITORING}pod-monitors.yaml`, "utf8"),
    ).map((d) => d.toJS() as PodMonitor);
    /** The job each endpoint ends with: the last relabeling that writes it (the Operator's own comes before). */
    const jobOf = (e: PodMonitor["spec"]["podMetricsEndpoints"][number]) =>
      (e.relabelings ?? [])
        .filter((r) => r.targetLabel === "job" && (r.action ?? "replace") === "replace")
        .at(-1)?.replacement;
    expect(sidecars!.spec.podMetricsEndpoints.map(jobOf)).toEqual([jobs.sidecar, jobs.sidecar]);
    expect(webhook!.spec.podMetricsEndpoints.map(jobOf)).toEqual([jobs.webhook]);
  });
});

describe("examples/monitoring/prometheus.yml", () => {
  it("keeps the sidecar's port (injected or by hand) in the credbridge job and the webhook's metrics port in its own, nothing else", async () => {
    const config = await readYaml<{
      rule_files: string[];
      scrape_configs: {
        job_name: string;
        relabel_configs: { source_labels: string[]; regex: string; action: string }[];
      }[];
    }>(`${MONITORING}prometheus.yml`);
    expect(config.rule_files).toEqual(["credbridge.rules.yaml"]);
    const keep = (job: string) => {
      const rule = config.scrape_configs
        .find((c) => c.job_name === job)!
        .relabel_configs.find((r) => r.action === "keep")!;
      expect(rule.source_labels).toContain("__meta_kubernetes_pod_container_port_name");
      return (pair: string) => new RegExp(`^(?:${rule.regex})$`).test(pair);
    };
    const sidecarJob = keep("credbridge");
    const injected = injectedSidecar();
    expect(sidecarJob(`${injected.name};${metricsPortName(injected)}`)).toBe(true);
    for (const { dir, all } of await handWritten()) {
      const sidecar = all.find((c) => c.name === "credbridge")!;
      const kept = pairs(all).filter(sidecarJob);
      expect(kept, dir).toEqual([`credbridge;${metricsPortName(sidecar)}`]);
    }
    // The webhook job matches on the pod's label and the port: here, label;port.
    const webhookJob = keep("credbridge-webhook");
    const deployment = await deploymentIn("webhook/webhook.yaml");
    const app = deployment.spec!.template!.metadata!.labels!["app.kubernetes.io/name"];
    const ports = deployment.spec!.template!.spec.containers[0]!.ports!.map((p) => `${app};${p.name}`);
    expect(ports.filter(webhookJob)).toEqual([`${app};metrics`]);
    expect(pairs(deployment.spec!.template!.spec.containers).filter(sidecarJob)).toEqual([]);
  });
});
