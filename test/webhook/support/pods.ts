import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Container, InjectDefaults, Pod } from "@credbridge/cli";
import { parse, parseAllDocuments } from "yaml";

export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const EXAMPLES = fileURLToPath(new URL("../../../examples/kubernetes/", import.meta.url));

/** The defaults every fixture's expected patch was made with. */
export const DEFAULTS: InjectDefaults = {
  image: "ghcr.io/credbridge/credbridge:0.1.0",
  addressImage: "busybox:1.37",
};

export const readPod = (path: string): Pod => parse(readFileSync(path, "utf8")) as Pod;

/** Every `<case>.pod.yaml` in fixtures/, beside its `<case>.expected.json`. */
export const podFixtures = (): { name: string; pod: Pod; expectedFile: string }[] =>
  readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".pod.yaml"))
    .sort()
    .map((f) => {
      const name = f.slice(0, -".pod.yaml".length);
      return { name, pod: readPod(join(FIXTURES, f)), expectedFile: join(FIXTURES, `${name}.expected.json`) };
    });

const byHand = (c: Container): boolean => (c.image ?? "").includes("credbridge") || c.name === "imds-address";

/**
 * The pod templates of the hand-written examples (examples/kubernetes/{irsa,
 * pod-identity,imds}) as the app's chart would have them: without what was
 * added by hand for credbridge (its init containers, the shared volume, the
 * AWS_* variables pointing at it, the port sysctl), annotated instead to ask
 * the webhook for the same outputs.
 */
export const exampleTemplates = (): { name: string; pod: Pod }[] =>
  ["irsa", "pod-identity", "imds"].map((dir) => {
    const text = readFileSync(join(EXAMPLES, dir, "harbor-registry.yaml"), "utf8");
    const deployment = parseAllDocuments(text)
      .map((d) => d.toJS() as { kind?: string; metadata?: { namespace?: string }; spec?: { template?: Pod } })
      .find((o) => o?.kind === "Deployment");
    if (!deployment?.spec?.template) throw new Error(`examples/kubernetes/${dir}: no Deployment template`);
    const template = structuredClone(deployment.spec.template);
    const credbridge = (template.spec.initContainers ?? []).filter(byHand);
    const volumes = new Set(credbridge.flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)));
    template.spec.initContainers = (template.spec.initContainers ?? []).filter((c) => !byHand(c));
    if (template.spec.initContainers.length === 0) delete template.spec.initContainers;
    template.spec.volumes = (template.spec.volumes ?? []).filter((v) => !volumes.has(v.name));
    let credentialsPath: string | undefined;
    for (const app of template.spec.containers) {
      credentialsPath ??= app.env?.find((e) => e.name === "AWS_SHARED_CREDENTIALS_FILE")?.value;
      app.env = (app.env ?? []).filter((e) => !e.name.startsWith("AWS_"));
      app.volumeMounts = (app.volumeMounts ?? []).filter((m) => !volumes.has(m.name));
    }
    if (template.spec.securityContext?.sysctls) delete template.spec.securityContext.sysctls;
    const annotations: Record<string, string> = { "credbridge.io/inject": "true" };
    if (dir === "imds") annotations["credbridge.io/outputs"] = "imds";
    if (credentialsPath) annotations["credbridge.io/credentials-path"] = credentialsPath;
    if (dir === "irsa") annotations["credbridge.io/self-assume"] = "true";
    template.metadata = {
      ...template.metadata,
      namespace: deployment.metadata?.namespace ?? "default",
      annotations: { ...template.metadata?.annotations, ...annotations },
    };
    return { name: `examples/kubernetes/${dir}`, pod: { apiVersion: "v1", kind: "Pod", ...template } };
  });

/** The projected ServiceAccount token volume AWS's webhook adds, mounted read-only at `dir`. */
const tokenVolume = (name: string, audience: string, dir: string, file: string) => ({
  mount: { name, readOnly: true, mountPath: dir },
  volume: {
    name,
    projected: { sources: [{ serviceAccountToken: { audience, expirationSeconds: 86400, path: file } }] },
  },
});

const REGION = [
  { name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" },
  { name: "AWS_DEFAULT_REGION", value: "us-east-1" },
  { name: "AWS_REGION", value: "us-east-1" },
];

/** What AWS's pod-identity webhook (amazon-eks-pod-identity-webhook, pkg/handler) adds for each mode. */
const AWS_INJECTION = {
  irsa: {
    env: [
      ...REGION,
      { name: "AWS_ROLE_ARN", value: "arn:aws:iam::111122223333:role/harbor-registry" },
      {
        name: "AWS_WEB_IDENTITY_TOKEN_FILE",
        value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      },
    ],
    ...tokenVolume(
      "aws-iam-token",
      "sts.amazonaws.com",
      "/var/run/secrets/eks.amazonaws.com/serviceaccount",
      "token",
    ),
  },
  "pod-identity": {
    env: [
      ...REGION,
      { name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", value: "http://169.254.170.23/v1/credentials" },
      {
        name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        value: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
      },
    ],
    ...tokenVolume(
      "eks-pod-identity-token",
      "pods.eks.amazonaws.com",
      "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
      "eks-pod-identity-token",
    ),
  },
};

/**
 * AWS's webhook as it mutates a pod: its variables appended to every container,
 * init containers included, except where a container already sets one of the
 * same name; its mount and its projected token volume added once.
 */
export const awsWebhook = (pod: Pod, mode: keyof typeof AWS_INJECTION): Pod => {
  const add = AWS_INJECTION[mode];
  const out = structuredClone(pod);
  for (const c of [...(out.spec.initContainers ?? []), ...out.spec.containers]) {
    const names = new Set((c.env ?? []).map((e) => e.name));
    c.env = [...(c.env ?? []), ...add.env.filter((e) => !names.has(e.name)).map((e) => ({ ...e }))];
    if (!(c.volumeMounts ?? []).some((m) => m.name === add.mount.name))
      c.volumeMounts = [...(c.volumeMounts ?? []), { ...add.mount }];
  }
  if (!(out.spec.volumes ?? []).some((v) => v.name === add.volume.name))
    out.spec.volumes = [...(out.spec.volumes ?? []), structuredClone(add.volume) as { name: string }];
  return out;
};
