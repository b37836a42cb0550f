import type { Container, EnvVar, VolumeMount } from "./pod.js";

/** What AWS's pod-identity webhook put into the pod, found in one of its containers. */
export interface AwsSource {
  kind: "web-identity" | "pod-identity";
  /** The variables the sidecar needs, with their values as the pod carries them. */
  env: EnvVar[];
  /** The projected token volume's mount, read-only. */
  mount: VolumeMount | undefined;
}

const IRSA_VARS = ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"];
const POD_IDENTITY_VARS = ["AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"];
/** Set alongside by AWS's webhook or by hand; the sidecar's STS calls honour them. */
const REGION_VARS = ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_STS_REGIONAL_ENDPOINTS"];

/**
 * The longest value the sidecar copies from a pod's AWS variables: a role ARN
 * is at most 2 048 characters, a path 4 096, a URL or a region far less. The
 * copy goes into the patch: a 3 MB `AWS_ROLE_ARN` made a 3.7 MiB answer.
 */
export const MAX_SOURCE_VALUE = 4096;

const COPIED = new Set([...IRSA_VARS, ...POD_IDENTITY_VARS, ...REGION_VARS]);

/** A variable the sidecar would copy whose value is longer than {@link MAX_SOURCE_VALUE}, or undefined. */
export const oversizedSourceValue = (
  containers: readonly Container[],
): { container: string; name: string; length: number } | undefined => {
  for (const c of containers) {
    for (const e of c.env ?? []) {
      if (typeof e.value === "string" && e.value.length > MAX_SOURCE_VALUE && COPIED.has(e.name)) {
        return { container: c.name, name: e.name, length: e.value.length };
      }
    }
  }
  return undefined;
};

const literal = (c: Container, name: string): EnvVar | undefined =>
  c.env?.find((e) => e.name === name && typeof e.value === "string" && e.value !== "");

const mountHolding = (c: Container, path: string): VolumeMount | undefined =>
  (c.volumeMounts ?? [])
    .filter((m) => path.startsWith(`${m.mountPath.replace(/\/$/, "")}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];

const fromContainer = (
  c: Container,
  kind: AwsSource["kind"],
  names: string[],
  isOurs: (e: EnvVar) => boolean,
): AwsSource | undefined => {
  const vars = names.map((n) => literal(c, n));
  if (vars.some((v) => v === undefined || isOurs(v))) return undefined;
  const tokenFile = vars[1]!.value!;
  const mount = mountHolding(c, tokenFile);
  const region = REGION_VARS.map((n) => literal(c, n)).filter((v) => v !== undefined);
  return {
    kind,
    env: [...vars, ...region].map((v) => ({ name: v!.name, value: v!.value! })),
    mount: mount && { name: mount.name, mountPath: mount.mountPath, readOnly: true },
  };
};

/**
 * Finds IRSA (AWS_ROLE_ARN + the web identity token file) or, failing that,
 * EKS Pod Identity (the agent's URI + its token file) in the first container
 * that carries it: the sidecar itself first, so a reinvocation sees what the
 * first pass copied even after the apps' variables were pointed at credbridge.
 * `isOurs` recognises values credbridge set, which are never a source.
 */
export const findAwsSource = (
  containers: readonly Container[],
  isOurs: (e: EnvVar) => boolean,
): AwsSource | undefined => {
  for (const c of containers) {
    const found = fromContainer(c, "web-identity", IRSA_VARS, isOurs);
    if (found) return found;
  }
  for (const c of containers) {
    const found = fromContainer(c, "pod-identity", POD_IDENTITY_VARS, isOurs);
    if (found) return found;
  }
  return undefined;
};
