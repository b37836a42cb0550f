/**
 * The examples are configuration: a wrong path, port or principal only shows up
 * on a cluster. These tests parse every manifest, policy and the credential_process
 * config, and check the fields that make them work together. The image
 * (examples/image) is built and run in test/image.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { TARGET_ROLE_ARN } from "./cross-account/chain.js";
import { createCredentials } from "./in-process/service.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "..");

const filesUnder = (dir: string, pattern: RegExp): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : filesUnder(path, pattern);
    return pattern.test(entry.name) ? [path] : [];
  });

const read = (path: string): string => readFileSync(path, "utf8");
const readJson = <T>(path: string): T => JSON.parse(read(path)) as T;
const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

// ---------------------------------------------------------------------------
// Kubernetes manifests

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Probe {
  httpGet?: { path?: string; port?: number | string };
}
interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}
interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: VolumeMount[];
  restartPolicy?: string;
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  securityContext?: SecurityContext;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  serviceAccountName?: string;
  securityContext?: SecurityContext & { fsGroup?: number; sysctls?: { name: string; value: string }[] };
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; emptyDir?: { medium?: string; sizeLimit?: string } }[];
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { template?: { spec?: PodSpec } };
}

interface Manifest {
  file: string;
  text: string;
  objects: K8sObject[];
}

const manifests: Manifest[] = filesUnder(join(here, "kubernetes"), /\.ya?ml$/).map((path) => {
  const text = read(path);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS() as K8sObject | null;
    if (value) objects.push(value);
  }
  return { file: relative(here, path), text, objects };
});

interface Workload {
  manifest: Manifest;
  object: K8sObject;
  pod: PodSpec;
  sidecar: Container;
  sidecarIndex: number;
  env: Map<string, string | undefined>;
}

const envOf = (c: Container): Map<string, string | undefined> =>
  new Map((c.env ?? []).map((e) => [e.name, e.value]));

const isSidecar = (c: Container): boolean => c.image.includes("credbridge");

/** kubernetes/webhook/ installs the webhook itself: its Deployment runs no sidecar. */
const isWebhookManifest = (m: Manifest): boolean =>
  m.file.startsWith(`kubernetes${posix.sep}webhook${posix.sep}`);

const workloads: Workload[] = manifests
  .filter((m) => !isWebhookManifest(m))
  .flatMap((manifest) =>
    manifest.objects.flatMap((object) => {
      const pod = object.spec?.template?.spec;
      if (!pod) return [];
      const sidecarIndex = (pod.initContainers ?? []).findIndex(isSidecar);
      const sidecar = pod.initContainers?.[sidecarIndex];
      if (!sidecar)
        throw new Error(`${manifest.file}: ${object.metadata.name} has no credbridge init container`);
      return [{ manifest, object, pod, sidecar, sidecarIndex, env: envOf(sidecar) }];
    }),
  );

const parseHostPort = (value: string): { host: string; port: number } => {
  const m = /^(.+):(\d{1,5})$/.exec(value);
  if (!m) throw new Error(`not HOST:PORT: ${value}`);
  return { host: m[1]!, port: Number(m[2]) };
};

/** The volume mount of `container` that holds `path`, and the path relative to the volume. */
const mountHolding = (
  container: Container,
  path: string,
): { mount: VolumeMount; inVolume: string } | undefined => {
  const mount = (container.volumeMounts ?? [])
    .filter((m) => path.startsWith(`${m.mountPath.replace(/\/$/, "")}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) return undefined;
  return { mount, inVolume: posix.join(mount.subPath ?? "", posix.relative(mount.mountPath, path)) };
};

/** Where an app's SDK looks for the shared credentials file. */
const appCredentialsPath = (env: Map<string, string | undefined>): string | undefined => {
  const explicit = env.get("AWS_SHARED_CREDENTIALS_FILE");
  if (explicit) return explicit;
  const home = env.get("HOME");
  return home ? posix.join(home, ".aws", "credentials") : undefined;
};

const probePort = (container: Container, probe: Probe | undefined): number | undefined => {
  const port = probe?.httpGet?.port;
  if (typeof port === "number") return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
};

const effective = (pod: PodSpec, c: Container) => ({
  runAsNonRoot: c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot,
  runAsUser: c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser,
  runAsGroup: c.securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup,
});

const allContainers = (pod: PodSpec): Container[] => [...(pod.initContainers ?? []), ...pod.containers];

/** The one-shot init container that puts an address on the pod's loopback interface. */
const addsLoopbackAddress = (c: Container, address: string): boolean =>
  c.restartPolicy === undefined &&
  new RegExp(`ip addr add ${address.replaceAll(".", "\\.")}/32 dev lo`).test(
    [...(c.command ?? []), ...(c.args ?? [])].join(" "),
  );

describe("kubernetes manifests", () => {
  it("cover IRSA, Pod Identity and IMDS, each with a credbridge sidecar", () => {
    const byDir = new Map(workloads.map((w) => [w.manifest.file.split("/")[1], w]));
    expect([...byDir.keys()].sort()).toEqual(["imds", "irsa", "pod-identity"]);
    expect(byDir.get("irsa")?.env.get("CREDBRIDGE_SOURCE")).toBe("web-identity");
    expect(byDir.get("pod-identity")?.env.get("CREDBRIDGE_SOURCE")).toBe("pod-identity");
    expect(byDir.get("imds")?.env.get("CREDBRIDGE_IMDS")).toBeDefined();
  });

  for (const w of workloads) {
    const { pod, sidecar, env } = w;
    const apps = pod.containers;

    describe(`${w.manifest.file} (${w.object.kind} ${w.object.metadata.name})`, () => {
      it("runs credbridge as a native sidecar: an init container with restartPolicy Always", () => {
        expect(pod.initContainers?.filter(isSidecar)).toHaveLength(1);
        expect(sidecar.restartPolicy).toBe("Always");
        expect(sidecar.args ?? ["serve"]).toEqual(["serve"]);
        expect(apps.some(isSidecar)).toBe(false);
      });

      it("configures the sidecar with CREDBRIDGE_* variables and an explicit source", () => {
        expect(["web-identity", "pod-identity"]).toContain(env.get("CREDBRIDGE_SOURCE"));
        expect(env.get("CREDBRIDGE_CREDENTIALS_FILE") ?? env.get("CREDBRIDGE_IMDS")).toBeDefined();
        for (const name of env.keys()) expect(name).toMatch(/^CREDBRIDGE_[A-Z_]+$/);
        const selfAssume = env.get("CREDBRIDGE_SELF_ASSUME");
        if (selfAssume !== undefined) expect(selfAssume).toBe("true");
      });

      it("binds metrics on a non-loopback address, where the kubelet's probes arrive", () => {
        const metrics = env.get("CREDBRIDGE_METRICS");
        expect(metrics).toBeDefined();
        const { host, port } = parseHostPort(metrics!);
        expect(["0.0.0.0", "[::]"]).toContain(host);
        expect(sidecar.ports?.map((p) => p.containerPort)).toContain(port);
      });

      it("probes /readyz for startup and readiness and /healthz for liveness, on the metrics port", () => {
        const { port } = parseHostPort(env.get("CREDBRIDGE_METRICS")!);
        expect(sidecar.startupProbe?.httpGet?.path).toBe("/readyz");
        expect(sidecar.readinessProbe?.httpGet?.path).toBe("/readyz");
        expect(sidecar.livenessProbe?.httpGet?.path).toBe("/healthz");
        for (const probe of [sidecar.startupProbe, sidecar.readinessProbe, sidecar.livenessProbe]) {
          expect(probePort(sidecar, probe)).toBe(port);
        }
      });

      it("locks the sidecar down: non-root, read-only root, no privilege escalation, no capabilities", () => {
        const sc = sidecar.securityContext;
        expect(effective(pod, sidecar).runAsNonRoot).toBe(true);
        expect(sc?.runAsUser).toBeGreaterThan(0);
        expect(sc?.readOnlyRootFilesystem).toBe(true);
        expect(sc?.allowPrivilegeEscalation).toBe(false);
        expect(sc?.capabilities?.drop).toContain("ALL");
        expect(sc?.capabilities?.add ?? []).toEqual([]);
        expect(sidecar.resources?.requests?.memory).toBeDefined();
        expect(sidecar.resources?.limits?.memory).toBeDefined();
      });

      it("runs the app containers as non-root without privilege escalation", () => {
        for (const app of apps) {
          expect(effective(pod, app).runAsNonRoot).toBe(true);
          expect(effective(pod, app).runAsUser).not.toBe(0);
          expect(app.securityContext?.allowPrivilegeEscalation).toBe(false);
          expect(app.securityContext?.capabilities?.add ?? []).toEqual([]);
        }
      });

      it("grants added capabilities to nothing but the IMDS address init container, and only NET_ADMIN", () => {
        const imds = env.get("CREDBRIDGE_IMDS");
        for (const c of allContainers(pod)) {
          expect(c.securityContext?.privileged ?? false).toBe(false);
          const added = c.securityContext?.capabilities?.add ?? [];
          if (added.length === 0) continue;
          expect(imds).toBeDefined();
          expect(addsLoopbackAddress(c, parseHostPort(imds!).host)).toBe(true);
          expect(added).toEqual(["NET_ADMIN"]);
          expect(c.securityContext?.capabilities?.drop).toContain("ALL");
          expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
        }
      });

      const credentialsFile = env.get("CREDBRIDGE_CREDENTIALS_FILE");
      if (credentialsFile !== undefined) {
        it("shares the credentials file through an in-memory emptyDir mounted at each app's ~/.aws", () => {
          const written = mountHolding(sidecar, credentialsFile);
          expect(written, "the sidecar mounts the file's directory").toBeDefined();
          expect(written!.mount.readOnly ?? false).toBe(false);
          const volume = pod.volumes?.find((v) => v.name === written!.mount.name);
          expect(volume?.emptyDir?.medium).toBe("Memory");

          for (const app of apps) {
            const appEnv = envOf(app);
            const path = appCredentialsPath(appEnv);
            expect(path, `${app.name} names its credentials file`).toBeDefined();
            const seen = mountHolding(app, path!);
            expect(seen?.mount.name).toBe(written!.mount.name);
            expect(seen?.inVolume).toBe(written!.inVolume);
            expect(seen?.mount.mountPath).toBe(posix.dirname(path!));
            expect(seen?.mount.mountPath).toMatch(/\/\.aws$/);
            expect(seen?.mount.readOnly).toBe(true);
            expect(appEnv.get("AWS_PROFILE") ?? "default").toBe(env.get("CREDBRIDGE_PROFILE") ?? "default");
          }
        });

        it("lets an app running as another user read the file (fsGroup and a group-readable mode)", () => {
          const writerUid = effective(pod, sidecar).runAsUser;
          for (const app of apps) {
            const appUid = effective(pod, app).runAsUser;
            if (appUid === writerUid) continue;
            const owner = env.get("CREDBRIDGE_FILE_OWNER");
            if (owner !== undefined) {
              expect(owner.split(":")[0]).toBe(String(appUid));
              // Giving the file to another user needs CAP_CHOWN, which these sidecars drop: only as that user.
              expect(`${writerUid}:${effective(pod, sidecar).runAsGroup ?? writerUid}`).toBe(owner);
              continue;
            }
            expect(pod.securityContext?.fsGroup).toBeDefined();
            const mode = Number.parseInt(env.get("CREDBRIDGE_FILE_MODE") ?? "0600", 8);
            expect(mode & 0o040, "group read").toBe(0o040);
            expect(mode & 0o007, "nothing for others").toBe(0);
          }
        });
      }

      const imds = env.get("CREDBRIDGE_IMDS");
      if (imds !== undefined) {
        it("serves IMDS at the link-local address, put on loopback by an earlier init container", () => {
          const { host, port } = parseHostPort(imds);
          expect(host).toBe("169.254.169.254");
          const before = (pod.initContainers ?? []).slice(0, w.sidecarIndex);
          expect(before.some((c) => addsLoopbackAddress(c, host))).toBe(true);
          if (port < 1024) {
            const sysctl = pod.securityContext?.sysctls?.find(
              (s) => s.name === "net.ipv4.ip_unprivileged_port_start",
            );
            expect(Number(sysctl?.value)).toBeLessThanOrEqual(port);
          }
        });

        it("never lets the sidecar take its credentials from its own IMDS", () => {
          expect(["web-identity", "pod-identity"]).toContain(env.get("CREDBRIDGE_SOURCE"));
        });

        it("points the apps' SDKs at the served address and leaves IMDSv1 on for old clients", () => {
          const { host, port } = parseHostPort(imds);
          expect(env.get("CREDBRIDGE_IMDS_V2_ONLY")).toBeUndefined();
          for (const app of apps) {
            const appEnv = envOf(app);
            expect(appEnv.get("AWS_EC2_METADATA_DISABLED")).toBeUndefined();
            expect(appEnv.get("AWS_SHARED_CREDENTIALS_FILE")).toBeUndefined();
            const endpoint = appEnv.get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
            if (endpoint !== undefined) {
              const url = new URL(endpoint);
              expect(url.hostname).toBe(host);
              expect(Number(url.port || 80)).toBe(port);
            }
          }
        });
      }

      it("uses a ServiceAccount from the same file, annotated for IRSA exactly when the source is web identity", () => {
        const sa = w.manifest.objects.find(
          (o) =>
            o.kind === "ServiceAccount" &&
            o.metadata.name === pod.serviceAccountName &&
            o.metadata.namespace === w.object.metadata.namespace,
        );
        expect(sa).toBeDefined();
        const roleArn = sa?.metadata.annotations?.["eks.amazonaws.com/role-arn"];
        if (env.get("CREDBRIDGE_SOURCE") === "web-identity") expect(roleArn).toMatch(ROLE_ARN);
        else expect(roleArn).toBeUndefined();
      });
    });
  }
});

// ---------------------------------------------------------------------------
// The webhook's own manifests (kubernetes/webhook/)

interface WebhookEntry {
  name: string;
  admissionReviewVersions: string[];
  clientConfig: {
    service?: { name: string; namespace: string; path?: string; port?: number };
    caBundle?: string;
  };
  rules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }[];
  namespaceSelector?: { matchLabels?: Record<string, string> };
  objectSelector?: { matchLabels?: Record<string, string> };
  sideEffects: string;
  reinvocationPolicy?: string;
  failurePolicy?: string;
  timeoutSeconds?: number;
}
interface PolicyPeer {
  ipBlock?: { cidr: string; except?: string[] };
  podSelector?: unknown;
  namespaceSelector?: unknown;
}
type Loose = K8sObject & {
  metadata: { labels?: Record<string, string> };
  webhooks?: WebhookEntry[];
  spec?: {
    podSelector?: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: { from?: PolicyPeer[]; ports?: { protocol?: string; port?: number | string }[] }[];
    egress?: unknown[];
    replicas?: number;
    minAvailable?: number;
    selector?: { matchLabels?: Record<string, string> };
    ports?: { port: number; targetPort: number | string }[];
    secretName?: string;
    dnsNames?: string[];
    template?: { metadata?: { labels?: Record<string, string> }; spec?: PodSpec };
  };
};

describe("webhook manifests (kubernetes/webhook/)", () => {
  const objects = manifests.filter(isWebhookManifest).flatMap((m) => m.objects as Loose[]);
  const one = (kind: string): Loose => {
    const found = objects.filter((o) => o.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0]!;
  };
  const deployment = one("Deployment");
  const pod = deployment.spec!.template!.spec!;
  const webhookContainer = pod.containers[0]!;
  const service = one("Service");
  const config = one("MutatingWebhookConfiguration");
  const entry = config.webhooks![0]!;
  const namespace = one("Namespace");
  const serviceHost = `${service.metadata.name}.${service.metadata.namespace}.svc`;

  it("runs two replicas of `credbridge webhook` kept up by a PodDisruptionBudget", () => {
    expect(deployment.spec?.replicas).toBe(2);
    expect(webhookContainer.args).toEqual(["webhook"]);
    const pdb = one("PodDisruptionBudget");
    expect(pdb.spec?.selector?.matchLabels).toEqual(deployment.spec?.selector?.matchLabels);
    expect(pdb.spec?.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec?.minAvailable).toBeLessThan(deployment.spec!.replicas!);
  });

  it("serves HTTPS on the port the Service targets, from the Secret cert-manager (or the script) fills", () => {
    const env = envOf(webhookContainer);
    const port = Number(env.get("CREDBRIDGE_LISTEN")?.split(":").at(-1));
    expect(
      webhookContainer.ports?.find((p) => p.name === service.spec?.ports?.[0]?.targetPort)?.containerPort,
    ).toBe(port);
    expect(service.spec?.selector?.matchLabels ?? service.spec?.selector).toEqual(
      deployment.spec?.template?.metadata?.labels,
    );
    const certFile = env.get("CREDBRIDGE_TLS_CERT_FILE")!;
    const mount = mountHolding(webhookContainer, certFile);
    expect(mount?.mount.readOnly).toBe(true);
    const volume = (pod.volumes ?? []).find((v) => v.name === mount?.mount.name) as {
      secret?: { secretName: string };
    };
    const certificate = objects.find(
      (o) => o.kind === "Certificate" && o.metadata.name === service.metadata.name,
    );
    expect(volume.secret?.secretName).toBe(certificate?.spec?.secretName);
    expect(certificate?.spec?.dnsNames).toContain(serviceHost);
    expect(read(join(here, "kubernetes", "webhook", "openssl-certificate.sh"))).toContain(
      `create secret tls "$SERVICE-tls"`,
    );
    expect(`${service.metadata.name}-tls`).toBe(volume.secret?.secretName);
  });

  it("locks the webhook down like the sidecar: non-root, read-only root, no capabilities", () => {
    const sc = webhookContainer.securityContext;
    expect(sc?.runAsNonRoot).toBe(true);
    expect(sc?.readOnlyRootFilesystem).toBe(true);
    expect(sc?.allowPrivilegeEscalation).toBe(false);
    expect(sc?.capabilities?.drop).toContain("ALL");
    for (const probe of [webhookContainer.readinessProbe, webhookContainer.livenessProbe]) {
      expect(probe?.httpGet?.path).toMatch(/^\/(readyz|healthz)$/);
    }
  });

  it("is called for pods created in opted-in namespaces, idempotently, failing closed within 5 s", () => {
    expect(entry.admissionReviewVersions).toContain("v1");
    expect(entry.clientConfig.service).toEqual({
      name: service.metadata.name,
      namespace: service.metadata.namespace,
      path: "/mutate",
      port: service.spec?.ports?.[0]?.port,
    });
    expect(entry.rules).toEqual([
      expect.objectContaining({
        apiGroups: [""],
        apiVersions: ["v1"],
        operations: ["CREATE"],
        resources: ["pods"],
      }),
    ]);
    expect(entry.sideEffects).toBe("None");
    expect(entry.reinvocationPolicy).toBe("IfNeeded");
    expect(entry.failurePolicy).toBe("Fail");
    expect(entry.timeoutSeconds).toBeLessThanOrEqual(5);
    const selector = entry.namespaceSelector?.matchLabels ?? {};
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    // Its own namespace is never selected: the webhook's pods must not wait for the webhook.
    const own = namespace.metadata.labels ?? {};
    expect(Object.entries(selector).every(([k, v]) => own[k] === v)).toBe(false);
    expect(config.metadata.annotations?.["cert-manager.io/inject-ca-from"]).toBe(
      `${service.metadata.namespace}/${service.metadata.name}`,
    );
  });

  it("admits only ipBlocks (the control plane's subnets) to the webhook's port, Prometheus alone to its metrics port, and lets it send nothing", () => {
    const policy = one("NetworkPolicy");
    expect(policy.metadata.namespace).toBe(deployment.metadata.namespace);
    expect(policy.spec?.podSelector?.matchLabels).toEqual(deployment.spec?.template?.metadata?.labels);
    expect(policy.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(policy.spec?.egress ?? []).toEqual([]);
    const port = Number(envOf(webhookContainer).get("CREDBRIDGE_LISTEN")?.split(":").at(-1));
    expect(policy.spec?.ingress).toHaveLength(2);
    const rule = policy.spec!.ingress![0]!;
    const scrape = policy.spec!.ingress![1]!;
    // Prometheus's pods in their namespace (both selectors in one peer: and, not or), to the metrics port only.
    const metricsPort = Number(envOf(webhookContainer).get("CREDBRIDGE_METRICS")?.split(":").at(-1));
    expect(scrape.ports).toEqual([{ protocol: "TCP", port: metricsPort }]);
    expect(scrape.from).toHaveLength(1);
    expect(Object.keys(scrape.from![0]!).sort()).toEqual(["namespaceSelector", "podSelector"]);
    expect(rule.ports).toEqual([{ protocol: "TCP", port }]);
    // No pod or namespace selector: no pod of the cluster is admitted by its labels.
    expect(rule.from?.length).toBeGreaterThan(0);
    for (const peer of rule.from ?? []) {
      expect(Object.keys(peer)).toEqual(["ipBlock"]);
      const [address, bits] = peer.ipBlock!.cidr.split("/");
      expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      // Subnets, not the VPC: a /16 would admit every pod of the VPC CNI.
      expect(Number(bits)).toBeGreaterThanOrEqual(24);
    }
  });

  it("Harbor's chart values carry the one annotation on the registry pod", () => {
    const values = manifests.find((m) => m.file.endsWith("harbor-values.yaml"))?.objects[0] as unknown as {
      registry: { podAnnotations: Record<string, string> };
    };
    expect(values.registry.podAnnotations).toEqual({ "credbridge.io/inject": "true" });
  });
});

// ---------------------------------------------------------------------------
// IAM policies

interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: { AWS?: string | string[]; Federated?: string | string[]; Service?: string | string[] };
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/[\w+=,.@-]+$/;
const OIDC_PROVIDER =
  /^arn:aws:iam::(\d{12}):oidc-provider\/(oidc\.eks\.[a-z0-9-]+\.amazonaws\.com\/id\/[A-Z0-9]+)$/;

const iamDir = join(here, "iam");
const policies = new Map(
  filesUnder(iamDir, /\.json$/).map((path) => [relative(iamDir, path), readJson<Policy>(path)] as const),
);
const policy = (name: string): Policy => {
  const p = policies.get(name);
  if (!p) throw new Error(`examples/iam/${name} is missing`);
  return p;
};
const trustPolicies = [...policies].filter(([name]) => name.endsWith("trust-policy.json"));
const selfStatements = (p: Policy, roleArn: string): Statement[] =>
  p.Statement.filter((s) => list(s.Principal?.AWS).includes(roleArn));
const accountOf = (arn: string): string | undefined => /^arn:aws:iam::(\d{12}):/.exec(arn)?.[1];

/** The role every same-account example uses: the one the self-assume permission policy names. */
const podRoleArn = list(policy("self-assume-permission-policy.json").Statement[0]?.Resource)[0]!;

describe("IAM policies", () => {
  it("are all present and well-formed", () => {
    expect([...policies.keys()].sort()).toEqual([
      "cross-account/source-permission-policy.json",
      "cross-account/target-trust-policy.json",
      "irsa-self-assume-trust-policy.json",
      "irsa-trust-policy.json",
      "pod-identity-self-assume-trust-policy.json",
      "pod-identity-trust-policy.json",
      "registry-s3-permission-policy.json",
      "self-assume-permission-policy.json",
    ]);
    for (const p of policies.values()) {
      expect(p.Version).toBe("2012-10-17");
      expect(p.Statement.length).toBeGreaterThan(0);
      for (const s of p.Statement) expect(s.Effect).toBe("Allow");
    }
    expect(podRoleArn).toMatch(ROLE_ARN);
  });

  it("never use StringLike, and no wildcard but the registry's objects (every key under its bucket or prefix)", () => {
    for (const [name, p] of policies) {
      expect(JSON.stringify(p), name).not.toContain("StringLike");
      for (const statement of p.Statement) {
        const { Resource, ...rest } = statement;
        expect(JSON.stringify(rest), name).not.toContain("*");
        for (const resource of list(Resource)) {
          if (resource.includes("*"))
            expect(resource, name).toMatch(/^arn:aws:s3:::[a-z0-9.-]+\/(?:[^*]+\/)?\*$/);
        }
      }
    }
  });

  for (const [name, p] of trustPolicies) {
    it(`${name}: every statement names a principal and conditions are StringEquals only`, () => {
      for (const s of p.Statement) {
        expect(s.Principal).toBeDefined();
        expect(s.Resource).toBeUndefined();
        for (const operator of Object.keys(s.Condition ?? {})) expect(operator).toBe("StringEquals");
      }
    });
  }

  it("IRSA trust pins the exact ServiceAccount subject and the STS audience of the cluster's provider", () => {
    for (const name of ["irsa-trust-policy.json", "irsa-self-assume-trust-policy.json"]) {
      const federated = policy(name).Statement.filter((s) => s.Principal?.Federated !== undefined);
      expect(federated, name).toHaveLength(1);
      const s = federated[0]!;
      expect(list(s.Action)).toEqual(["sts:AssumeRoleWithWebIdentity"]);
      const m = OIDC_PROVIDER.exec(list(s.Principal?.Federated)[0] ?? "");
      expect(m, "an EKS OIDC provider ARN").not.toBeNull();
      expect(m![1]).toBe(accountOf(podRoleArn));
      const provider = m![2]!;
      const equals = s.Condition?.StringEquals ?? {};
      expect(Object.keys(equals).sort()).toEqual([`${provider}:aud`, `${provider}:sub`]);
      expect(equals[`${provider}:aud`]).toBe("sts.amazonaws.com");
      expect(equals[`${provider}:sub`]).toMatch(/^system:serviceaccount:[a-z0-9-]+:[a-z0-9-]+$/);
    }
  });

  it("Pod Identity trust lets pods.eks.amazonaws.com assume the role and tag the session", () => {
    for (const name of ["pod-identity-trust-policy.json", "pod-identity-self-assume-trust-policy.json"]) {
      const service = policy(name).Statement.filter((s) => s.Principal?.Service !== undefined);
      expect(service, name).toHaveLength(1);
      expect(list(service[0]!.Principal?.Service)).toEqual(["pods.eks.amazonaws.com"]);
      expect(list(service[0]!.Action).sort()).toEqual(["sts:AssumeRole", "sts:TagSession"]);
    }
  });

  it("self-assume trust is the base trust plus one statement naming the role's own ARN", () => {
    for (const [base, withSelf] of [
      ["irsa-trust-policy.json", "irsa-self-assume-trust-policy.json"],
      ["pod-identity-trust-policy.json", "pod-identity-self-assume-trust-policy.json"],
    ] as const) {
      const self = selfStatements(policy(withSelf), podRoleArn);
      expect(self, withSelf).toHaveLength(1);
      expect(list(self[0]!.Action)).toContain("sts:AssumeRole");
      expect(policy(withSelf).Statement.filter((s) => !self.includes(s))).toEqual(policy(base).Statement);
      expect(selfStatements(policy(base), podRoleArn)).toEqual([]);
    }
    // Pod Identity's session tags are transitive: assuming any role from such a session tags it.
    const podSelf = selfStatements(policy("pod-identity-self-assume-trust-policy.json"), podRoleArn)[0]!;
    expect(list(podSelf.Action)).toContain("sts:TagSession");
  });

  it("the registry's S3 permissions: its bucket's listing actions on the bucket, the object actions on its keys", () => {
    const [bucket, objects, ...rest] = policy("registry-s3-permission-policy.json").Statement;
    expect(rest).toEqual([]);
    const bucketArn = list(bucket?.Resource)[0]!;
    expect(bucketArn).toMatch(/^arn:aws:s3:::[a-z0-9.-]+$/);
    expect(list(bucket?.Action).sort()).toEqual(["s3:ListBucket", "s3:ListBucketMultipartUploads"]);
    expect(list(objects?.Resource)).toEqual([`${bucketArn}/*`]);
    expect(list(objects?.Action).every((a) => a.startsWith("s3:"))).toBe(true);
    // The manifests' registries use this bucket.
    for (const w of workloads) expect(w.manifest.text).toContain(`bucket: ${bucketArn.split(":::")[1]}`);
  });

  it("the self-assume permission policy allows exactly sts:AssumeRole (and tagging) on the role itself", () => {
    const [s, ...rest] = policy("self-assume-permission-policy.json").Statement;
    expect(rest).toEqual([]);
    expect(s?.Principal).toBeUndefined();
    expect(list(s?.Resource)).toEqual([podRoleArn]);
    expect(list(s?.Action).sort()).toEqual(["sts:AssumeRole", "sts:TagSession"]);
  });

  it("cross-account: the source may assume the target, which trusts only the source with an external id", () => {
    const source = policy("cross-account/source-permission-policy.json");
    const target = policy("cross-account/target-trust-policy.json");
    const targetArn = list(source.Statement[0]?.Resource)[0]!;
    expect(targetArn).toMatch(ROLE_ARN);
    expect(accountOf(targetArn)).not.toBe(accountOf(podRoleArn));
    expect(list(source.Statement[0]?.Action)).toContain("sts:AssumeRole");
    expect(target.Statement).toHaveLength(1);
    const trust = target.Statement[0]!;
    expect(list(trust.Principal?.AWS)).toEqual([podRoleArn]);
    expect(list(trust.Action).sort()).toEqual(["sts:AssumeRole", "sts:TagSession"]);
    expect(trust.Condition?.StringEquals?.["sts:ExternalId"]).toMatch(/^\S{8,}$/);
  });

  it("each IRSA ServiceAccount is trusted by the IRSA policies, and self-assuming sidecars by their own role", () => {
    const irsa = workloads.filter((w) => w.env.get("CREDBRIDGE_SOURCE") === "web-identity");
    expect(irsa.length).toBeGreaterThan(0);
    const subjects = ["irsa-trust-policy.json", "irsa-self-assume-trust-policy.json"].map((name) =>
      policy(name)
        .Statement.flatMap((s) => Object.entries(s.Condition?.StringEquals ?? {}))
        .filter(([key]) => key.endsWith(":sub"))
        .map(([, value]) => value),
    );
    for (const w of irsa) {
      const ns = w.object.metadata.namespace;
      const sa = w.manifest.objects.find((o) => o.kind === "ServiceAccount" && o.metadata.namespace === ns);
      const roleArn = sa?.metadata.annotations?.["eks.amazonaws.com/role-arn"];
      expect(roleArn, w.manifest.file).toBe(podRoleArn);
      for (const s of subjects)
        expect(s).toEqual([`system:serviceaccount:${ns}:${w.pod.serviceAccountName}`]);
    }
    const selfAssuming = irsa.filter((w) => w.env.get("CREDBRIDGE_SELF_ASSUME") === "true");
    expect(selfAssuming.length).toBeGreaterThan(0);
    for (const w of selfAssuming) expect(w.manifest.text).toContain("irsa-self-assume-trust-policy.json");
  });

  it("the trust and permission policies are what `credbridge trust-policy` and `permission-policy` print", () => {
    const bin = join(repoRoot, "packages", "cli", "bin", "credbridge.cjs");
    expect(
      existsSync(join(repoRoot, "packages", "cli", "bundle", "credbridge.cjs")),
      "build first: pnpm run build",
    ).toBe(true);
    const print = (...args: string[]): Policy =>
      JSON.parse(execFileSync(process.execPath, [bin, ...args], { encoding: "utf8" })) as Policy;
    const irsa = policy("irsa-trust-policy.json").Statement[0]!;
    const provider = OIDC_PROVIDER.exec(list(irsa.Principal?.Federated)[0]!)![2]!;
    const [, namespace, serviceAccount] = /^system:serviceaccount:(.+):(.+)$/.exec(
      String(irsa.Condition?.StringEquals?.[`${provider}:sub`]),
    )!;
    const irsaArgs = [
      "trust-policy",
      "--irsa",
      "--oidc-issuer",
      `https://${provider}`,
      "--namespace",
      namespace!,
    ];
    irsaArgs.push("--service-account", serviceAccount!, "--role-arn", podRoleArn);
    expect(print(...irsaArgs)).toEqual(policy("irsa-trust-policy.json"));
    expect(print(...irsaArgs, "--self-assume")).toEqual(policy("irsa-self-assume-trust-policy.json"));
    expect(print("trust-policy", "--pod-identity")).toEqual(policy("pod-identity-trust-policy.json"));
    expect(print("trust-policy", "--pod-identity", "--self-assume", "--role-arn", podRoleArn)).toEqual(
      policy("pod-identity-self-assume-trust-policy.json"),
    );
    const bucket = list(policy("registry-s3-permission-policy.json").Statement[0]?.Resource)[0]!.split(
      ":::",
    )[1]!;
    expect(print("permission-policy", "--s3-bucket", bucket)).toEqual(
      policy("registry-s3-permission-policy.json"),
    );
    expect(print("permission-policy", "--self-assume", "--role-arn", podRoleArn)).toEqual(
      policy("self-assume-permission-policy.json"),
    );
  });

  it("the Pod Identity manifest documents the association for the same role and ServiceAccount", () => {
    for (const w of workloads.filter((x) => x.env.get("CREDBRIDGE_SOURCE") === "pod-identity")) {
      const commands = w.manifest.text.replace(/\\\n#\s*/g, " ");
      const create = /aws eks create-pod-identity-association (.*)/.exec(commands)?.[1] ?? "";
      expect(create).toContain(`--namespace ${w.object.metadata.namespace}`);
      expect(create).toContain(`--service-account ${w.pod.serviceAccountName}`);
      expect(create).toContain(`--role-arn ${podRoleArn}`);
      expect(commands).toMatch(/eksctl create podidentityassociation /);
    }
  });
});

// ---------------------------------------------------------------------------
// credential_process config and the cross-account chain

const awsConfig = (() => {
  const profiles = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of read(join(here, "credential-process", "config")).split("\n")) {
    const section = /^\[profile ([\w-]+)\]\s*$/.exec(line);
    if (section) {
      current = new Map();
      profiles.set(section[1]!, current);
    }
    const pair = /^([a-z_]+)\s*=\s*(.+?)\s*$/.exec(line);
    if (pair && current) current.set(pair[1]!, pair[2]!);
  }
  return profiles;
})();

describe("credential_process config", () => {
  it("runs `credbridge process` in every profile", () => {
    expect(awsConfig.size).toBeGreaterThanOrEqual(2);
    for (const [name, profile] of awsConfig) {
      expect(profile.get("credential_process"), name).toMatch(/^credbridge process(\s|$)/);
    }
  });

  it("has a web identity + self-assume profile", () => {
    const commands = [...awsConfig.values()].map((p) => p.get("credential_process")!.split(/\s+/));
    expect(
      commands.some(
        (argv) => argv.includes("--self-assume") && argv.join(" ").includes("--source web-identity"),
      ),
    ).toBe(true);
  });

  it("has a cross-account profile that matches the IAM policies and the in-process chain", () => {
    const target = policy("cross-account/target-trust-policy.json").Statement[0]!;
    const sourcePermission = policy("cross-account/source-permission-policy.json").Statement[0]!;
    const specs = [...awsConfig.values()].flatMap((p) =>
      [...p.get("credential_process")!.matchAll(/--assume-role (\S+)/g)].map((m) => m[1]!),
    );
    expect(specs).toHaveLength(1);
    const [arn, ...options] = specs[0]!.split(",");
    const opts = new Map(options.map((o) => o.split("=", 2) as [string, string]));
    expect(arn).toBe(TARGET_ROLE_ARN);
    expect(list(sourcePermission.Resource)).toEqual([TARGET_ROLE_ARN]);
    expect(opts.get("external-id")).toBe(target.Condition?.StringEquals?.["sts:ExternalId"]);
    for (const key of opts.keys()) expect(["external-id", "session-name", "duration"]).toContain(key);
  });
});

// ---------------------------------------------------------------------------
// The in-process service, against a loopback STS that answers like the real one

const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";
const stsCredentialsXml = (action: string, keyId: string, roleArn: string): string => {
  const expiration = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const role = roleArn.split("/").at(-1);
  const account = accountOf(roleArn);
  return `<${action}Response xmlns="${STS_NS}"><${action}Result><Credentials><AccessKeyId>${keyId}</AccessKeyId><SecretAccessKey>secret-${keyId}</SecretAccessKey><SessionToken>token-${keyId}</SessionToken><Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::${account}:assumed-role/${role}/session</Arn><AssumedRoleId>AROAEXAMPLE:session</AssumedRoleId></AssumedRoleUser></${action}Result><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></${action}Response>`;
};

describe("in-process service", () => {
  const calls: { action: string | null; roleArn: string | null; signedBy: string | undefined }[] = [];
  let server: Server;
  let endpoint: string;
  let dir: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        const form = new URLSearchParams(body);
        const action = form.get("Action");
        const roleArn = form.get("RoleArn");
        const signedBy = /Credential=([A-Z0-9]+)\//.exec(req.headers.authorization ?? "")?.[1];
        calls.push({ action, roleArn, signedBy });
        const keyId =
          action === "AssumeRoleWithWebIdentity" ? "ASIAWEBIDENTITYEXAMPLE" : "ASIASELFASSUMEDEXAMPLE";
        res.writeHead(200, { "content-type": "text/xml" });
        res.end(stsCredentialsXml(action ?? "Unknown", keyId, roleArn ?? ""));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), "credbridge-examples-"));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it("does nothing until asked, then takes IRSA's web identity and assumes the same role again", async () => {
    const tokenFile = join(dir, "token");
    await writeFile(tokenFile, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl\n");
    const events: string[] = [];
    const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    const credentials = createCredentials({
      env: {
        AWS_ROLE_ARN: podRoleArn,
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL_STS: endpoint,
        SELF_ASSUME: "true",
      },
      logger: silent,
      onRefresh: (event) => events.push(event.type),
    });
    expect(calls).toEqual([]);
    expect(credentials.state().status).toBe("empty");

    const identity = await credentials();
    expect(calls).toEqual([
      { action: "AssumeRoleWithWebIdentity", roleArn: podRoleArn, signedBy: undefined },
      { action: "AssumeRole", roleArn: podRoleArn, signedBy: "ASIAWEBIDENTITYEXAMPLE" },
    ]);
    expect(identity.accessKeyId).toBe("ASIASELFASSUMEDEXAMPLE");
    expect(events).toEqual(["refresh-start", "refresh-success"]);
    expect(credentials.state()).toMatchObject({
      status: "fresh",
      name: "service",
      accessKeyId: "****MPLE",
    });

    // Cached: a second caller costs no STS call.
    await credentials();
    expect(calls).toHaveLength(2);
  });
});
