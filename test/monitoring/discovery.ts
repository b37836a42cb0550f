/**
 * What Kubernetes service discovery (`kubernetes_sd_configs`, role pod) hands
 * a scrape config, for pods that run on loopback here: one target per
 * container port with its `__meta_kubernetes_*` labels. Debian builds
 * Prometheus without Kubernetes discovery, so the committed scrape configs run
 * with these targets as `static_configs` instead, their relabelling untouched.
 */
export interface DiscoveredPod {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  containers: { name: string; ports: { name: string; url: string }[] }[];
}

interface KubernetesSdConfig {
  role: string;
  namespaces?: { names?: string[] };
}

interface ScrapeConfig {
  job_name: string;
  kubernetes_sd_configs?: KubernetesSdConfig[];
  [key: string]: unknown;
}

const labelName = (k: string) => k.replace(/[^a-zA-Z0-9_]/g, "_");

const targetsOf = (pod: DiscoveredPod) =>
  pod.containers.flatMap((c) =>
    c.ports.map((p) => ({
      targets: [new URL(p.url).host],
      labels: {
        __meta_kubernetes_namespace: pod.namespace,
        __meta_kubernetes_pod_name: pod.name,
        __meta_kubernetes_pod_container_name: c.name,
        __meta_kubernetes_pod_container_port_name: p.name,
        ...Object.fromEntries(
          Object.entries(pod.labels ?? {}).map(([k, v]) => [
            `__meta_kubernetes_pod_label_${labelName(k)}`,
            v,
          ]),
        ),
      },
    })),
  );

/** The scrape configs with each `kubernetes_sd_configs` (role pod) replaced by what it would discover among `pods`. */
export const withDiscoveredPods = (configs: ScrapeConfig[], pods: DiscoveredPod[]): unknown[] =>
  configs.map(({ kubernetes_sd_configs: sd, ...rest }) => {
    if (sd === undefined) return rest;
    const seen = sd.flatMap((c) => {
      if (c.role !== "pod") throw new Error(`${rest.job_name}: only role pod is emulated, not ${c.role}`);
      const names = c.namespaces?.names;
      return pods.filter((p) => names === undefined || names.includes(p.namespace));
    });
    return { ...rest, static_configs: seen.flatMap(targetsOf) };
  });
