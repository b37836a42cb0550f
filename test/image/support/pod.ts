import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { REPO } from "./image.js";

interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}
export interface ManifestContainer {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  securityContext?: SecurityContext;
}
export interface ManifestPod {
  securityContext?: SecurityContext & { fsGroup?: number };
  initContainers?: ManifestContainer[];
  containers: ManifestContainer[];
}

/** The pod template of the Deployment in an example manifest (examples/kubernetes/…). */
export const podOf = (manifest: string): ManifestPod => {
  for (const doc of parseAllDocuments(readFileSync(`${REPO}examples/kubernetes/${manifest}`, "utf8"))) {
    const object = doc.toJS() as { kind?: string; spec?: { template?: { spec?: ManifestPod } } } | null;
    if (object?.kind === "Deployment" && object.spec?.template?.spec) return object.spec.template.spec;
  }
  throw new Error(`examples/kubernetes/${manifest} has no Deployment`);
};

/** The container of `pod` that runs the credbridge image. */
export const credbridgeContainer = (pod: ManifestPod): ManifestContainer => {
  const found = [...(pod.initContainers ?? []), ...pod.containers].find((c) =>
    c.image.startsWith("ghcr.io/credbridge/credbridge:"),
  );
  if (!found) throw new Error("no container runs the credbridge image");
  return found;
};

/** The container's env from the manifest, as name → value. */
export const envOf = (c: ManifestContainer): Record<string, string> =>
  Object.fromEntries((c.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])));

/**
 * The podman flags that give a container what the kubelet gives it from these
 * security contexts: the ids (and the pod's fsGroup as a supplementary group),
 * a read-only root with nothing writable added (no tmpfs on /tmp, unlike
 * podman's default), the capabilities dropped, no privilege escalation. Throws
 * on a field it does not translate, so a manifest change cannot be ignored here.
 */
export const securityFlags = (pod: ManifestPod, c: ManifestContainer): string[] => {
  const sc = { ...pod.securityContext, ...c.securityContext };
  const known = new Set([
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "capabilities",
    "fsGroup",
    "seccompProfile",
  ]);
  for (const key of Object.keys(sc)) {
    if (!known.has(key)) throw new Error(`securityFlags does not translate securityContext.${key}`);
  }
  const flags: string[] = [];
  if (sc.runAsUser === undefined) throw new Error(`${c.name} sets no runAsUser`);
  flags.push("--user", `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`);
  const fsGroup = pod.securityContext?.fsGroup;
  if (fsGroup !== undefined) flags.push("--group-add", String(fsGroup));
  if (sc.readOnlyRootFilesystem) flags.push("--read-only", "--read-only-tmpfs=false");
  for (const cap of sc.capabilities?.drop ?? []) flags.push("--cap-drop", cap);
  for (const cap of sc.capabilities?.add ?? []) flags.push("--cap-add", cap);
  if (sc.allowPrivilegeEscalation === false) flags.push("--security-opt", "no-new-privileges");
  return flags;
};
