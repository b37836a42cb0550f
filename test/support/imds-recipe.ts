import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/** The manifest whose init container is the one recipe for the IMDS address. */
export const IMDS_MANIFEST = fileURLToPath(
  new URL("../../examples/kubernetes/imds/harbor-registry.yaml", import.meta.url),
);

interface RecipePod {
  securityContext?: { sysctls?: { name: string; value: string }[] };
  initContainers?: { name: string; command?: string[] }[] & Record<string, unknown>[];
}

const recipePod = (): RecipePod => {
  for (const doc of parseAllDocuments(readFileSync(IMDS_MANIFEST, "utf8"))) {
    const object = doc.toJS() as { kind?: string; spec?: { template?: { spec?: RecipePod } } } | null;
    if (object?.kind === "Deployment" && object.spec?.template?.spec) return object.spec.template.spec;
  }
  throw new Error(`${IMDS_MANIFEST}: no Deployment`);
};

/**
 * The address recipe as the manifest has it: its `imds-address` init container
 * (whose command the tests run inside a network namespace, exactly as shown)
 * and the pod's port sysctl. The imds-shim README and the webhook carry the same.
 */
export const imdsAddressRecipe = () => {
  const pod = recipePod();
  const init = (pod.initContainers ?? []).find((c) => c.name === "imds-address");
  if (!init?.command) throw new Error(`${IMDS_MANIFEST}: no imds-address init container with a command`);
  const sysctl = (pod.securityContext?.sysctls ?? []).find(
    (s) => s.name === "net.ipv4.ip_unprivileged_port_start",
  );
  if (!sysctl) throw new Error(`${IMDS_MANIFEST}: no net.ipv4.ip_unprivileged_port_start sysctl`);
  return { init: init as Record<string, unknown> & { command: string[] }, sysctl };
};
