import { posix } from "node:path";
import { envNameOf } from "../args/flags.js";
import { ANNOTATIONS, INJECTED, type InjectConfig } from "./annotations.js";
import { type AwsSource, findAwsSource } from "./aws-source.js";
import type { Container, EnvVar, Pod, PodSpec, Volume, VolumeMount } from "./pod.js";

/** What the webhook's operator decides, not the pod. */
export interface InjectDefaults {
  /** The credbridge image the sidecar runs. */
  image: string;
  /** The image of the init container that puts the IMDS address on loopback (needs `ip`). */
  addressImage: string;
}

export const SIDECAR_NAME = "credbridge";
export const ADDRESS_INIT_NAME = "credbridge-imds-address";
export const VOLUME_NAME = "credbridge";
/** The sidecar's /metrics, /healthz and /readyz, on the pod IP for the kubelet's probes. */
export const METRICS_PORT = 9753;
/** The container-credentials endpoint, on the pod's loopback: only its containers reach it. */
export const CONTAINER_ENDPOINT_PORT = 9754;
export const IMDS_ADDRESS = "169.254.169.254";
/** The sidecar's user when the file has no owner of its own (the image's USER). */
export const SIDECAR_UID = 65532;
export const CONTAINER_TOKEN_FILE_NAME = "container-token";

const CONTAINER_URI = `http://127.0.0.1:${CONTAINER_ENDPOINT_PORT}/v1/credentials`;
const IMDS_URL = `http://${IMDS_ADDRESS}`;

const env = (flag: string, value: string): EnvVar => ({ name: envNameOf(flag), value });

/** The directory the sidecar and the apps share: the credentials file's, also holding the container token. */
const sharedDir = (config: InjectConfig): string => posix.dirname(config.credentialsPath);
const tokenPath = (config: InjectConfig): string => posix.join(sharedDir(config), CONTAINER_TOKEN_FILE_NAME);
const needsVolume = (config: InjectConfig): boolean =>
  config.outputs.includes("file") || config.outputs.includes("container");

/**
 * The file's mode: a file owner runs the sidecar as that user, so 0600 is
 * enough; with an fsGroup the emptyDir and the file belong to that group, so
 * 0640; with neither the app's user is unknown, and 0644 is what lets it read
 * a file that only the pod's own selected containers can see (the volume is
 * mounted nowhere else).
 */
const fileMode = (config: InjectConfig, spec: PodSpec): string | undefined => {
  if (config.fileOwner) return undefined;
  return spec.securityContext?.fsGroup !== undefined ? "0640" : "0644";
};

/** The sidecar's environment: exactly the CREDBRIDGE_* settings `credbridge serve` reads. */
const sidecarEnv = (config: InjectConfig, spec: PodSpec, source: AwsSource | undefined): EnvVar[] => {
  const out: EnvVar[] = [];
  if (source) out.push(env("source", source.kind));
  if (config.selfAssume) out.push(env("self-assume", "true"));
  if (config.assumeRoles.length > 0) out.push(env("assume-role", config.assumeRoles.join(" ")));
  if (config.profiles !== undefined) out.push(env("profile-assume-role", config.profiles.join(" ")));
  if (config.outputs.includes("file")) {
    out.push(env("credentials-file", config.credentialsPath));
    const mode = fileMode(config, spec);
    if (mode) out.push(env("file-mode", mode));
  }
  if (config.fileOwner) out.push(env("file-owner", `${config.fileOwner.uid}:${config.fileOwner.gid}`));
  if (config.outputs.includes("imds")) out.push(env("imds", `${IMDS_ADDRESS}:80`));
  if (config.outputs.includes("container")) {
    out.push(env("container-endpoint", `127.0.0.1:${CONTAINER_ENDPOINT_PORT}`));
    out.push(env("container-auth-token-file", tokenPath(config)));
    // The token file is shared like the credentials file, so it follows the same mode.
    if (!config.outputs.includes("file")) {
      const mode = fileMode(config, spec);
      if (mode) out.push(env("file-mode", mode));
    }
  }
  out.push(env("metrics", `0.0.0.0:${METRICS_PORT}`));
  // The sidecar must never take its credentials from the IMDS it serves itself.
  if (config.outputs.includes("imds")) out.push({ name: "AWS_EC2_METADATA_DISABLED", value: "true" });
  if (source) out.push(...source.env);
  return out;
};

/** The apps' environment for the chosen outputs. */
const appEnv = (config: InjectConfig): EnvVar[] => {
  const out: EnvVar[] = [];
  if (config.outputs.includes("file"))
    out.push({ name: "AWS_SHARED_CREDENTIALS_FILE", value: config.credentialsPath });
  if (config.outputs.includes("container")) {
    out.push({ name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", value: CONTAINER_URI });
    out.push({ name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", value: tokenPath(config) });
  }
  if (config.outputs.includes("imds"))
    out.push({ name: "AWS_EC2_METADATA_SERVICE_ENDPOINT", value: IMDS_URL });
  return out;
};

/** Sets `wanted` in place: an entry of the same name is replaced where it stands, others appended. */
const setByName = <T extends { name: string }>(existing: readonly T[] | undefined, wanted: readonly T[]) => {
  const out = [...(existing ?? [])];
  for (const w of wanted) {
    const i = out.findIndex((e) => e.name === w.name);
    if (i === -1) out.push(w);
    else out[i] = w;
  }
  return out;
};

const sharedMount = (config: InjectConfig, readOnly: boolean): VolumeMount => ({
  name: VOLUME_NAME,
  mountPath: sharedDir(config),
  ...(readOnly ? { readOnly: true } : {}),
});

/**
 * The sidecar, derived from the annotations and the AWS source alone: nothing
 * of a container already named `credbridge` (its env, its mounts) is carried
 * over, so no pod author's setting reaches it unvalidated.
 */
const sidecar = (
  config: InjectConfig,
  defaults: InjectDefaults,
  spec: PodSpec,
  source: AwsSource | undefined,
): Container => {
  const uid = config.fileOwner?.uid ?? SIDECAR_UID;
  const gid = config.fileOwner?.gid ?? SIDECAR_UID;
  const mounts: VolumeMount[] = [];
  if (needsVolume(config)) mounts.push(sharedMount(config, false));
  if (source?.mount) mounts.push(source.mount);
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: METRICS_PORT },
    periodSeconds,
    failureThreshold,
  });
  const c: Container = {
    name: SIDECAR_NAME,
    image: defaults.image,
    // A native sidecar: it starts first, keeps running beside the apps, and its
    // startup probe holds them back until the first credentials exist.
    restartPolicy: "Always",
    args: ["serve"],
    env: sidecarEnv(config, spec, source),
    ports: [{ name: "credbridge", containerPort: METRICS_PORT }],
    startupProbe: probe("/readyz", 2, 30),
    readinessProbe: probe("/readyz", 10, 3),
    livenessProbe: { ...probe("/healthz", 20, 3), timeoutSeconds: 2 },
    // No V8 flags, unlike the webhook's Deployment: Node configures V8's heap from the
    // container's limit (a 259 MiB ceiling in a 128 MiB cgroup, 4 GiB without one), and under
    // 3 500 connections a second to its metrics port for 60 s the sidecar's charge to a real
    // 128 MiB cgroup peaked at 46 MiB (without a limit its RSS grew to 232 MiB).
    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "128Mi" } },
    securityContext: {
      runAsUser: uid,
      runAsGroup: gid,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
  if (mounts.length > 0) c.volumeMounts = mounts;
  return c;
};

/** Puts the IMDS address on the pod's loopback, as examples/kubernetes/imds does by hand. */
const addressInit = (defaults: InjectDefaults): Container => ({
  name: ADDRESS_INIT_NAME,
  image: defaults.addressImage,
  // Idempotent: a rerun in the same network namespace finds the address there.
  command: [
    "sh",
    "-c",
    `ip -4 addr show dev lo | grep -q 'inet ${IMDS_ADDRESS}/32' || ip addr add ${IMDS_ADDRESS}/32 dev lo`,
  ],
  securityContext: {
    // Capabilities added to a non-root user are not effective: root, with NET_ADMIN only.
    runAsUser: 0,
    runAsNonRoot: false,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] },
  },
  resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
});

/** Lets the non-root sidecar bind port 80 of the IMDS address (a safe, namespaced sysctl). */
const withUnprivilegedPort80 = (spec: PodSpec): PodSpec["securityContext"] => {
  const sc = spec.securityContext ?? {};
  const name = "net.ipv4.ip_unprivileged_port_start";
  const current = sc.sysctls?.find((s) => s.name === name);
  if (current && Number(current.value) <= 80) return sc;
  // 80, not 0: ports below it stay privileged, as in examples/kubernetes/imds.
  return { ...sc, sysctls: setByName(sc.sysctls, [{ name, value: "80" }]) };
};

/** A selected app already mounting something else where the shared directory must go. */
export const mountConflicts = (config: InjectConfig, apps: readonly Container[]): string[] =>
  needsVolume(config)
    ? apps
        .filter((c) =>
          (c.volumeMounts ?? []).some((m) => m.mountPath === sharedDir(config) && m.name !== VOLUME_NAME),
        )
        .map((c) => c.name)
    : [];

/** The app containers that get credentials. */
export const selectedApps = (pod: Pod, config: InjectConfig): Container[] => {
  if (config.containers === undefined) return pod.spec.containers;
  const names = new Set(config.containers);
  return pod.spec.containers.filter((c) => names.has(c.name));
};

/** The names of the containers the webhook adds; a pod's own container may carry neither. */
const OWN_NAMES = new Set([SIDECAR_NAME, ADDRESS_INIT_NAME]);

/** Marked by the webhook itself (`credbridge.io/status: injected`): its containers are already there. */
export const isInjected = (pod: Pod): boolean => pod.metadata?.annotations?.[ANNOTATIONS.status] === INJECTED;

/**
 * A container of the pod's own under a name the webhook uses, which injection
 * would merge with its own or duplicate; undefined when there is none. On a pod
 * the webhook marked, init containers of those names are its own.
 */
export const nameClash = (pod: Pod): { container: string; init: boolean } | undefined => {
  const app = pod.spec.containers.find((c) => OWN_NAMES.has(c.name));
  if (app) return { container: app.name, init: false };
  if (isInjected(pod)) return undefined;
  const init = (pod.spec.initContainers ?? []).find((c) => OWN_NAMES.has(c.name));
  return init ? { container: init.name, init: true } : undefined;
};

/**
 * The pod's spec as it must be: the sidecar (and the IMDS address init
 * container) first among the init containers, the shared volume, the selected
 * apps' environment and mounts. The pod's metadata is left to the caller: a
 * copy of a pod's annotations (thousands, for a hostile one) is work the
 * webhook's patch does not need.
 */
export const injectSpec = (pod: Pod, config: InjectConfig, defaults: InjectDefaults): PodSpec => {
  const spec = pod.spec;
  const inits = spec.initContainers ?? [];
  // Our sidecar from an earlier pass holds what AWS's webhook added since (its source): read it first.
  const existing = isInjected(pod) ? inits.find((c) => c.name === SIDECAR_NAME) : undefined;
  const ours = (e: EnvVar) => appEnv(config).some((a) => a.name === e.name && a.value === e.value);
  const source = findAwsSource([...(existing ? [existing] : []), ...inits, ...spec.containers], ours);

  const first = [
    ...(config.outputs.includes("imds") ? [addressInit(defaults)] : []),
    sidecar(config, defaults, spec, source),
  ];
  const selected = new Set(selectedApps(pod, config).map((c) => c.name));
  const wantedEnv = appEnv(config);

  const next: PodSpec = {
    ...spec,
    initContainers: [...first, ...inits.filter((c) => !OWN_NAMES.has(c.name))],
    containers: spec.containers.map((c) => {
      if (!selected.has(c.name)) return c;
      const out: Container = { ...c, env: setByName(c.env, wantedEnv) };
      if (needsVolume(config)) out.volumeMounts = setByName(c.volumeMounts, [sharedMount(config, true)]);
      return out;
    }),
  };
  if (needsVolume(config)) {
    next.volumes = setByName<Volume>(spec.volumes, [
      { name: VOLUME_NAME, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
    ]);
  }
  if (config.outputs.includes("imds")) {
    const sc = withUnprivilegedPort80(spec);
    if (sc) next.securityContext = sc;
  }
  return next;
};

/**
 * The pod as it must be: {@link injectSpec}, and the `credbridge.io/status`
 * mark. A pure function of the pod, so applying it to its own result changes
 * nothing: that is what makes reinvocation safe. Expects a pod without a
 * {@link nameClash}.
 */
export const injectPod = (pod: Pod, config: InjectConfig, defaults: InjectDefaults): Pod => ({
  ...pod,
  metadata: {
    ...pod.metadata,
    annotations: { ...pod.metadata?.annotations, [ANNOTATIONS.status]: INJECTED },
  },
  spec: injectSpec(pod, config, defaults),
});
