/**
 * The README's "Harbor on EKS", walked: its shell blocks are taken from the
 * README and run verbatim (support/walk.ts), so that what an operator copies is
 * what passed here. What can run here runs for real: `credbridge trust-policy`
 * and `permission-policy`, the AWS CLI creating the role in moto (which checks
 * the policy documents), then the sidecar the webhook injects into Harbor's
 * registry pod (Harbor's chart pod, annotated by harbor-values.yaml, after the
 * Amazon EKS Pod Identity Webhook's IRSA variables) run as its securityContext
 * says (uid 65532, the pod's fsGroup, no capabilities, no HOME, no passwd
 * entry) against the STS emulator, trusting exactly what the README's trust
 * policy says; the registry's user reads the file with the AWS CLI; and
 * `kubectl exec … -- credbridge doctor` runs doctor as that same process. What
 * needs a cluster (kubectl, helm, eksctl) is recorded and checked for order and
 * for the files and names it uses. Root is needed to switch uids.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, chown, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Container, mutatePod, type Pod, SIDECAR_NAME } from "@credbridge/cli";
import {
  type MotoServer,
  mintWebIdentityToken,
  type StsEmulator,
  startMotoServer,
  startStsEmulator,
} from "@credbridge/emulators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readyMetricsUrl, startCli } from "../support/cli.js";
import { setprivAs } from "../support/setpriv.js";
import { tempDir } from "../support/tmp.js";
import { applyPatch } from "../webhook/support/k8s.js";
import { podRuntime } from "../webhook/support/pod-runtime.js";
import { awsWebhook, DEFAULTS, FIXTURES, readPod } from "../webhook/support/pods.js";
import { fencedBlocks, markdownSection } from "./support/markdown.js";
import { type Recorded, walkShell } from "./support/walk.js";

const run = promisify(execFile);
const README = new URL("../../README.md", import.meta.url);
const EXAMPLES = new URL("../../examples/", import.meta.url);
const AWS = "/usr/bin/aws";

/** The sh blocks of one step of the README's "Harbor on EKS", joined. */
const step = (markdown: string, title: string): string => {
  const blocks = fencedBlocks(markdownSection(markdown, title), "sh");
  if (blocks.length === 0) throw new Error(`README "Harbor on EKS" › "${title}" has no sh block`);
  return blocks.join("\n");
};

const json = <T>(text: string): T => JSON.parse(text) as T;
const exampleText = (path: string): string => readFileSync(new URL(path, EXAMPLES), "utf8");
const readJson = async <T>(url: URL): Promise<T> => json<T>(await readFile(url, "utf8"));
type Policy = { Version: string; Statement: Record<string, unknown>[] };

let markdown: string;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let moto: MotoServer;
let sts: StsEmulator | undefined;
const motos: MotoServer[] = [];

const startMoto = async (): Promise<MotoServer> => {
  const started = await startMotoServer({
    logger: {
      warn: (message) => {
        throw new Error(`the walk needs moto_server: ${message}`);
      },
    },
  });
  if (!started) throw new Error("the walk needs moto_server");
  motos.push(started);
  return started;
};

/** Debian's AWS CLI on moto, outside the README's commands (set-up and checks). */
const awsOn = async (server: MotoServer, region: string, args: string[]) =>
  json<Record<string, unknown>>(
    (
      await run(AWS, ["--endpoint-url", server.url, "--output", "json", ...args], {
        env: {
          PATH: "/usr/bin:/bin",
          AWS_ACCESS_KEY_ID: "walk",
          AWS_SECRET_ACCESS_KEY: "walk",
          AWS_DEFAULT_REGION: region,
          HOME: tmp.dir,
        },
      })
    ).stdout || "{}",
  );

/**
 * The role the README's commands made in moto, found by the names its
 * `aws iam put-role-policy` used: its trust policy and its permission policy.
 */
const iamRole = async (server: MotoServer, region: string, calls: Recorded[]) => {
  const put = calls.find((c) => c.tool === "aws" && c.args[0] === "iam" && c.args[1] === "put-role-policy");
  if (!put) throw new Error("the README's commands put no role policy");
  const argOf = (flag: string) => put.args[put.args.indexOf(flag) + 1]!;
  const roleName = argOf("--role-name");
  const role = (await awsOn(server, region, ["iam", "get-role", "--role-name", roleName])).Role as {
    Arn: string;
    AssumeRolePolicyDocument: Policy;
  };
  const permissions = await awsOn(server, region, [
    "iam",
    "get-role-policy",
    "--role-name",
    roleName,
    "--policy-name",
    argOf("--policy-name"),
  ]);
  return {
    arn: role.Arn,
    trust: role.AssumeRolePolicyDocument,
    permissions: permissions.PolicyDocument as Policy,
  };
};

beforeAll(async () => {
  if (process.geteuid?.() !== 0)
    throw new Error("the walk runs the sidecar and the registry as their own uids: root is needed");
  markdown = markdownSection(await readFile(README, "utf8"), "Harbor on EKS");
  tmp = await tempDir("credbridge-harbor-on-eks-");
  await chmod(tmp.dir, 0o755);
  moto = await startMoto();
}, 120_000);

afterAll(async () => {
  await sts?.close();
  for (const m of motos) await m.close();
  await tmp?.cleanup();
});

/** The names the README's step 1 sets, as its shell left them. */
const names = () => step(markdown, "1. Names");

describe("README: Harbor on EKS, with IRSA", () => {
  let vars: Record<string, string>;
  let calls: Recorded[];
  let shell: Awaited<ReturnType<typeof walkShell>>;
  const kubectl = () => calls.filter((c) => c.tool === "kubectl").map((c) => c.args.join(" "));

  beforeAll(async () => {
    // The cluster the README names, as EKS has it: moto gives it an OIDC issuer.
    const cluster = /^CLUSTER=(\S+)/m.exec(names())?.[1];
    const region = /^REGION=(\S+)/m.exec(names())?.[1];
    if (!cluster || !region) throw new Error("README step 1 sets no CLUSTER or REGION");
    await awsOn(moto, region, [
      "eks",
      "create-cluster",
      "--name",
      cluster,
      "--role-arn",
      "arn:aws:iam::123456789012:role/eks-cluster",
      "--resources-vpc-config",
      "subnetIds=subnet-0123456789abcdef0",
    ]);
    shell = await walkShell(tmp.path("irsa"), moto.url);
    const script = ["1. Names", "2. The role", "3. The ServiceAccount", "4. The webhook", "5. Harbor"]
      .map((title) => step(markdown, title))
      .join("\n");
    ({ vars } = await shell.sh(script, region));
    calls = await shell.recorded();
  }, 120_000);

  it("creates the role in IAM with the trust policy `credbridge trust-policy` prints: this ServiceAccount only", async () => {
    const role = await iamRole(moto, vars.REGION!, calls);
    expect(role.arn).toBe(vars.ROLE_ARN);
    const printed = json<Policy>(await readFile(join(shell.work, "trust-policy.json"), "utf8"));
    expect(role.trust).toEqual(printed);
    // The example file is the same policy for AWS's example account and issuer.
    const issuer = vars.OIDC_ISSUER!.replace(/^https:\/\//, "");
    const example = JSON.stringify(await readJson<Policy>(new URL("iam/irsa-trust-policy.json", EXAMPLES)))
      .replaceAll("111122223333", vars.ACCOUNT_ID!)
      .replaceAll("oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE", issuer)
      .replaceAll(
        "system:serviceaccount:harbor:harbor-registry",
        `system:serviceaccount:${vars.NAMESPACE}:${vars.SERVICE_ACCOUNT}`,
      );
    expect(printed).toEqual(JSON.parse(example));
    expect(calls.find((c) => c.tool === "eksctl")?.args).toEqual([
      "utils",
      "associate-iam-oidc-provider",
      "--cluster",
      vars.CLUSTER,
      "--region",
      vars.REGION,
      "--approve",
    ]);
  });

  it("gives it the registry's S3 permissions `credbridge permission-policy` prints, on the README's bucket", async () => {
    const role = await iamRole(moto, vars.REGION!, calls);
    const printed = json<Policy>(await readFile(join(shell.work, "permission-policy.json"), "utf8"));
    expect(role.permissions).toEqual(printed);
    const example = JSON.stringify(
      await readJson<Policy>(new URL("iam/registry-s3-permission-policy.json", EXAMPLES)),
    );
    expect(printed).toEqual(JSON.parse(example.replaceAll("example-harbor-registry", vars.BUCKET!)));
  });

  it("creates the ServiceAccount Harbor's values name, annotated with the role, before Harbor", () => {
    const values = parse(exampleText("kubernetes/webhook/harbor-values.yaml")) as {
      registry: { serviceAccountName: string };
    };
    expect(values.registry.serviceAccountName).toBe(vars.SERVICE_ACCOUNT);
    const k = kubectl();
    expect(k).toContain(`-n ${vars.NAMESPACE} create serviceaccount ${vars.SERVICE_ACCOUNT}`);
    expect(k).toContain(
      `-n ${vars.NAMESPACE} annotate serviceaccount ${vars.SERVICE_ACCOUNT} eks.amazonaws.com/role-arn=${vars.ROLE_ARN}`,
    );
  });

  it("installs the webhook on your image, ready before it is registered, registered before the namespace opts in", () => {
    const k = kubectl();
    const at = (text: string) => {
      const i = k.findIndex((line) => line.includes(text));
      expect(i, `kubectl … ${text}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const applied = at(
      "apply -f examples/kubernetes/webhook/webhook.yaml -f examples/kubernetes/webhook/certificate.yaml",
    );
    const image = at(`set image deployment/credbridge-webhook webhook=${vars.IMAGE}`);
    const sidecarImage = at(`set env deployment/credbridge-webhook CREDBRIDGE_IMAGE=${vars.IMAGE}`);
    const ready = at("rollout status deployment/credbridge-webhook");
    const registered = at("apply -f examples/kubernetes/webhook/mutating-webhook.yaml");
    const label = at(`label namespace ${vars.NAMESPACE} credbridge.io/webhook=enabled`);
    expect([applied, image, sidecarImage, ready, registered, label]).toEqual(
      [applied, image, sidecarImage, ready, registered, label].sort((a, b) => a - b),
    );
    expect(ready).toBeGreaterThan(sidecarImage);
  });

  it("webhook.yaml's header gives the same install steps, in the same order", () => {
    const header = exampleText("kubernetes/webhook/webhook.yaml")
      .split("\n")
      .flatMap((line) => /^#\s+(kubectl .*)$/.exec(line)?.[1] ?? [])
      .map((command) => command.replace(/ harbor /, ' "$NAMESPACE" '));
    const readme = step(markdown, "4. The webhook").trim().split("\n");
    expect(header).toEqual(readme);
  });

  it("every file a command names exists in the checkout", async () => {
    const files = calls.flatMap((c) => c.args.flatMap((a, i) => (c.args[i - 1] === "-f" ? [a] : [])));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) await expect(stat(join(shell.work, file))).resolves.toBeDefined();
  });

  it("the injected sidecar runs as its securityContext says and the registry's user reads the file; doctor from inside it works", async () => {
    const helm = calls.find((c) => c.tool === "helm" && c.args[0] === "install");
    expect(helm?.args).toEqual(
      expect.arrayContaining(["-f", "examples/kubernetes/webhook/harbor-values.yaml"]),
    );
    expect(helm?.args).toContain(`persistence.imageChartStorage.s3.bucket=${vars.BUCKET}`);
    const release = helm!.args[1]!;

    // Harbor's chart's registry pod, with what harbor-values.yaml gives it, after EKS's IRSA webhook.
    const values = parse(exampleText("kubernetes/webhook/harbor-values.yaml")) as {
      registry: { serviceAccountName: string; podAnnotations: Record<string, string> };
    };
    const chartPod = readPod(`${FIXTURES}/harbor-registry.pod.yaml`);
    const { "credbridge.io/inject": _, ...chartAnnotations } = chartPod.metadata?.annotations ?? {};
    chartPod.metadata = {
      ...chartPod.metadata,
      namespace: vars.NAMESPACE!,
      annotations: { ...chartAnnotations, ...values.registry.podAnnotations },
    };
    chartPod.spec.serviceAccountName = values.registry.serviceAccountName;
    const withIrsa = awsWebhook(chartPod, "irsa");
    for (const c of [...(withIrsa.spec.initContainers ?? []), ...withIrsa.spec.containers]) {
      for (const e of c.env ?? []) if (e.name === "AWS_ROLE_ARN") e.value = vars.ROLE_ARN!;
    }
    const m = mutatePod(withIrsa, { ...DEFAULTS, image: vars.IMAGE! });
    if (m.kind !== "patch") throw new Error(`expected a patch, got ${m.kind}`);
    const pod: Pod = applyPatch(withIrsa, m.patch);
    const sidecar = pod.spec.initContainers?.find((c) => c.name === SIDECAR_NAME) as Container;
    expect(sidecar.image).toBe(vars.IMAGE);

    // STS trusts the role exactly as the trust policy the README created says.
    const trust = json<Policy>(await readFile(join(shell.work, "trust-policy.json"), "utf8")).Statement[0]!;
    const equals = (trust.Condition as { StringEquals: Record<string, string> }).StringEquals;
    const issuerHost = vars.OIDC_ISSUER!.replace(/^https:\/\//, "");
    sts = await startStsEmulator({
      roles: {
        [vars.ROLE_ARN!]: {
          trustedSubjects: [equals[`${issuerHost}:sub`]!],
          trustedAudiences: [equals[`${issuerHost}:aud`]!],
          trustedIssuers: [issuerHost],
          trustsSelf: false,
        },
      },
    });

    // The pod's volumes as the kubelet makes them for fsGroup: the projected token and the emptyDir group-owned.
    const fsGroup = pod.spec.securityContext!.fsGroup!;
    const runtime = podRuntime(pod, tmp.path("pod"));
    await runtime.mountVolumes({
      "aws-iam-token": {
        token: mintWebIdentityToken({
          sub: `system:serviceaccount:${vars.NAMESPACE}:${vars.SERVICE_ACCOUNT}`,
          iss: vars.OIDC_ISSUER!,
        }),
      },
    });
    await chmod(tmp.path("pod"), 0o755);
    await chmod(tmp.path("pod", "volumes"), 0o755);
    await chown(join(runtime.volumeDir("aws-iam-token"), "token"), 0, fsGroup);
    await chmod(join(runtime.volumeDir("aws-iam-token"), "token"), 0o640);
    await chmod(runtime.volumeDir("aws-iam-token"), 0o755);
    await chown(runtime.volumeDir("credbridge"), 0, fsGroup);
    await chmod(runtime.volumeDir("credbridge"), 0o2777);

    const sc = sidecar.securityContext as {
      runAsUser: number;
      runAsGroup: number;
      capabilities?: { drop?: string[] };
    };
    expect(sc.capabilities?.drop).toEqual(["ALL"]);
    const setpriv = [...setprivAs(sc.runAsUser, sc.runAsGroup, [fsGroup]), "--no-new-privs"];
    // The sidecar's own environment (no HOME: uid 65532 has no passwd entry here); STS is the emulator.
    // Its metrics port is 127.0.0.1:0 instead of 0.0.0.0:9753, which parallel test runs would share.
    const env = {
      ...runtime.env(SIDECAR_NAME, { "0.0.0.0:9753": "127.0.0.1:0" }),
      AWS_ENDPOINT_URL_STS: sts.url,
      PATH: "/usr/bin:/bin",
    };
    const serve = startCli(runtime.args(SIDECAR_NAME), env, (command, args) => [
      "setpriv",
      [...setpriv, command, ...args],
    ]);
    try {
      await readyMetricsUrl(serve, 15_000);
      expect(sts.calls.map((c) => c.action)).toEqual(["AssumeRoleWithWebIdentity"]);

      // The file, as the registry (Harbor's uid 10000, in the fsGroup) reads it: Debian's AWS CLI, on STS.
      const app = runtime.env("registry");
      const file = app.AWS_SHARED_CREDENTIALS_FILE!;
      const st = await stat(file);
      expect({ mode: (st.mode & 0o777).toString(8), gid: st.gid }).toEqual({ mode: "640", gid: fsGroup });
      const registryUid = String(pod.spec.securityContext!.runAsUser);
      const whoami = await run(
        "setpriv",
        [
          ...setprivAs(Number(registryUid), Number(registryUid), [fsGroup]),
          AWS,
          "sts",
          "get-caller-identity",
          "--endpoint-url",
          sts.url,
          "--output",
          "json",
        ],
        {
          env: {
            PATH: "/usr/bin:/bin",
            AWS_SHARED_CREDENTIALS_FILE: file,
            AWS_REGION: vars.REGION!,
            HOME: "/nonexistent",
          },
        },
      );
      expect(json<{ Arn: string }>(whoami.stdout).Arn).toMatch(
        new RegExp(`^arn:aws:sts::${vars.ACCOUNT_ID}:assumed-role/harbor-registry/`),
      );

      // Step 6, verbatim: doctor in the sidecar, as the sidecar runs.
      await shell.setPod({ setpriv, env });
      const checked = await shell.sh(`${names()}\n${step(markdown, "6. Check it")}`, vars.REGION!);
      expect(checked.stdout).not.toContain("uv_os_homedir");
      expect(checked.stdout).toMatch(
        /^ {2}ok {3}source web-identity: arn:aws:sts::\d{12}:assumed-role\/harbor-registry\//m,
      );
      expect(checked.stdout).toMatch(/^result: every step works$/m);
      const k = (await shell.recorded()).filter((c) => c.tool === "kubectl").map((c) => c.args.join(" "));
      expect(k).toContain(`-n ${vars.NAMESPACE} rollout status deployment/${release}-registry`);
      expect(k).toContain(
        `-n ${vars.NAMESPACE} exec deploy/${release}-registry -c ${SIDECAR_NAME} -- credbridge doctor`,
      );
    } finally {
      expect((await serve.stop()).code).toBe(0);
    }
  });
});

describe("README: Harbor on EKS, with EKS Pod Identity instead", () => {
  it("creates the role for the Pod Identity service with the same S3 permissions, and associates it", async () => {
    const server = await startMoto();
    const shell = await walkShell(tmp.path("pod-identity"), server.url);
    const region = /^REGION=(\S+)/m.exec(names())![1]!;
    const { vars } = await shell.sh(`${names()}\n${step(markdown, "With EKS Pod Identity instead")}`, region);
    const calls = await shell.recorded();
    const role = await iamRole(server, region, calls);
    expect(role.arn).toBe(vars.ROLE_ARN);
    expect(role.trust).toEqual(
      await readJson<Policy>(new URL("iam/pod-identity-trust-policy.json", EXAMPLES)),
    );
    expect(role.permissions).toEqual(
      await readJson<Policy>(new URL("iam/registry-s3-permission-policy.json", EXAMPLES)),
    );
    expect(calls.find((c) => c.args[1] === "create-pod-identity-association")?.args).toEqual([
      "eks",
      "create-pod-identity-association",
      "--cluster-name",
      vars.CLUSTER,
      "--region",
      vars.REGION,
      "--namespace",
      vars.NAMESPACE,
      "--service-account",
      vars.SERVICE_ACCOUNT,
      "--role-arn",
      vars.ROLE_ARN,
    ]);
    // No IRSA annotation: the association names the ServiceAccount.
    expect(calls.filter((c) => c.tool === "kubectl" && c.args.includes("annotate"))).toEqual([]);
  });
});
