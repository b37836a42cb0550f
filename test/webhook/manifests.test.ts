/**
 * examples/kubernetes/webhook/ run as far as no cluster allows: the plain-openssl
 * script makes the certificate (kubectl replaced by a recorder), and the
 * webhook runs with the Deployment's own environment and Secret volume, called
 * as the MutatingWebhookConfiguration tells the API server to call it, with
 * the caBundle the script patched in, for a pod carrying Harbor's values.
 */
import { execFile } from "node:child_process";
import { chmod, readdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Container, Pod } from "@credbridge/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { cleanEnv, listeningUrl, startCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { admissionReview, callWebhook, decodePatch, responseOf } from "./support/admission.js";
import { applyPatch, expectValidPod } from "./support/k8s.js";
import { podRuntime } from "./support/pod-runtime.js";
import { FIXTURES, readPod } from "./support/pods.js";

const DIR = fileURLToPath(new URL("../../examples/kubernetes/webhook/", import.meta.url));
const run = promisify(execFile);

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { template?: Pod };
  webhooks?: { clientConfig: { service: { path: string } } }[];
}
const objectsOf = async (file: string): Promise<Obj[]> =>
  parseAllDocuments(await readFile(`${DIR}${file}`, "utf8")).map((d) => d.toJS() as Obj);

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir("credbridge-webhook-manifests-");
});
afterAll(() => tmp?.cleanup());

describe("examples/kubernetes/webhook, installed", () => {
  it("the README's install names every manifest of the directory, the NetworkPolicy included, and registers the webhook only once it is ready", async () => {
    const manifests = (await readdir(DIR)).filter((f) => f.endsWith(".yaml") && f !== "harbor-values.yaml");
    expect(manifests).toContain("network-policy.yaml");
    const readme = await readFile(`${DIR}README.md`, "utf8");
    const install = readme.slice(readme.indexOf("## Install"), readme.indexOf("| File | What it holds |"));
    for (const manifest of manifests) expect(install, manifest).toContain(manifest);
    // With cert-manager: the commands in order; the webhook registered after it is ready.
    const commands = (/```sh\n([\s\S]*?)```/.exec(install)?.[1] ?? "").trim().split("\n");
    const at = (pattern: RegExp) => commands.findIndex((c) => pattern.test(c));
    expect(at(/apply .*webhook\.yaml .*certificate\.yaml/)).toBe(0);
    expect(at(/rollout status/)).toBeGreaterThan(0);
    expect(at(/apply -f mutating-webhook\.yaml/)).toBeGreaterThan(at(/rollout status/));
    expect(at(/label namespace/)).toBeGreaterThan(at(/apply -f mutating-webhook\.yaml/));
    // Without cert-manager: the script makes the certificate and applies mutating-webhook.yaml itself.
    expect(install).toMatch(/`sh openssl-certificate\.sh` replaces `certificate\.yaml`/);
  });

  it("the NetworkPolicy admits the port the Deployment's webhook listens on and its metrics port, for its pods; the probes are on the metrics port", async () => {
    const deployment = (await objectsOf("webhook.yaml")).find((o) => o.kind === "Deployment")!;
    const container = deployment.spec!.template!.spec.containers[0]! as Container & {
      ports?: { name: string; containerPort: number }[];
      readinessProbe?: { httpGet: { port: string } };
      livenessProbe?: { httpGet: { port: string } };
    };
    const portOf = (name: string) =>
      Number(
        container
          .env!.find((e) => e.name === name)
          ?.value?.split(":")
          .at(-1),
      );
    const policy = (await objectsOf("network-policy.yaml"))[0] as unknown as {
      kind: string;
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        ingress: { ports: { port: number }[] }[];
      };
    };
    expect(policy.kind).toBe("NetworkPolicy");
    expect(policy.spec.ingress.map((r) => r.ports.map((p) => p.port))).toEqual([
      [portOf("CREDBRIDGE_LISTEN")],
      [portOf("CREDBRIDGE_METRICS")],
    ]);
    expect(container.ports?.find((p) => p.name === "metrics")?.containerPort).toBe(
      portOf("CREDBRIDGE_METRICS"),
    );
    expect([container.readinessProbe?.httpGet.port, container.livenessProbe?.httpGet.port]).toEqual([
      "metrics",
      "metrics",
    ]);
    expect(deployment.spec!.template!.metadata?.labels).toMatchObject(policy.spec.podSelector.matchLabels);
  });
});

describe("examples/kubernetes/webhook, run", () => {
  it("openssl-certificate.sh + the Deployment's env: the webhook answers the API server's call for Harbor's registry pod", async () => {
    const deployment = (await objectsOf("webhook.yaml")).find((o) => o.kind === "Deployment")!;
    const template = structuredClone(deployment.spec!.template!);
    const runtime = podRuntime(template, tmp.path("webhook-pod"));
    await runtime.mountVolumes();

    // kubectl, recorded: the script's calls and what it pipes into `kubectl apply -f -`.
    const log = tmp.path("kubectl.log");
    const kubectl = tmp.path("kubectl");
    await writeFile(
      kubectl,
      // `apply -f -` logs once its input is closed: after the `create` it reads from, whatever the scheduling.
      `#!/bin/sh\ncase "$*" in "apply -f -") cat >> "${log}.stdin" ;; esac\necho "$*" >> "${log}"\ncase "$*" in *"-o yaml"*) echo "kind: Secret" ;; esac\n`,
    );
    await chmod(kubectl, 0o755);
    await run("sh", [`${DIR}openssl-certificate.sh`, runtime.volumeDir("tls")], {
      env: { PATH: process.env.PATH, KUBECTL: kubectl },
    });
    const calls = (await readFile(log, "utf8")).trim().split("\n");
    const tls = runtime.volumeDir("tls");
    expect(calls[0]).toBe(
      `-n credbridge create secret tls credbridge-webhook-tls --cert=${tls}/tls.crt --key=${tls}/tls.key --dry-run=client -o yaml`,
    );
    expect(calls[1]).toBe("apply -f -");
    expect(await readFile(`${log}.stdin`, "utf8"), "the Secret is piped into apply").toBe("kind: Secret\n");
    expect(calls[2]).toBe(`apply -f ${DIR}mutating-webhook.yaml`);
    const patch = JSON.parse(/-p (.*)$/.exec(calls[3]!)![1]!) as [{ path: string; value: string }];
    expect(calls[3]).toMatch(/^patch mutatingwebhookconfiguration credbridge-webhook --type=json -p /);
    expect(patch[0].path).toBe("/webhooks/0/clientConfig/caBundle");
    const caBundle = Buffer.from(patch[0].value, "base64").toString("utf8");
    expect(caBundle).toBe(await readFile(`${tls}/ca.crt`, "utf8"));

    const env = runtime.env("webhook", { "0.0.0.0:8443": "127.0.0.1:0", "0.0.0.0:9090": "127.0.0.1:0" });
    const webhook = startCli(runtime.args("webhook"), cleanEnv(tmp.dir, env));
    try {
      const url = String((await webhook.waitFor((l) => l.msg === "webhook listening")).url);
      const config = (await objectsOf("mutating-webhook.yaml"))[0]!;
      const path = `${config.webhooks![0]!.clientConfig.service.path}?timeout=5s`;

      const values = parse(await readFile(`${DIR}harbor-values.yaml`, "utf8")) as {
        registry: { podAnnotations: Record<string, string> };
      };
      const pod = readPod(`${FIXTURES}/harbor-registry-irsa.pod.yaml`);
      pod.metadata!.annotations = {
        ...Object.fromEntries(
          Object.entries(pod.metadata!.annotations!).filter(([k]) => !k.startsWith("credbridge.io/")),
        ),
        ...values.registry.podAnnotations,
      };
      const reply = await callWebhook(
        Number(new URL(url).port),
        caBundle,
        JSON.stringify(admissionReview(pod)),
        {
          path,
        },
      );
      const answer = responseOf(reply).response;
      expect(answer.allowed).toBe(true);
      const injected = applyPatch(pod, decodePatch(answer.patch) as Parameters<typeof applyPatch>[1]);
      expectValidPod(injected);
      const sidecar = injected.spec.initContainers?.find((c) => c.name === "credbridge");
      expect(sidecar?.image).toBe(env.CREDBRIDGE_IMAGE);
      expect(injected.spec.containers[0]?.env).toContainEqual({
        name: "AWS_SHARED_CREDENTIALS_FILE",
        value: "/var/run/credbridge/credentials",
      });
      // The kubelet's probes, as the Deployment declares them, and Prometheus's scrape: on the metrics port.
      const metrics = await listeningUrl(webhook, "metrics");
      const container = template.spec.containers[0] as unknown as {
        readinessProbe: { httpGet: { path: string } };
        livenessProbe: { httpGet: { path: string } };
      };
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        expect((await fetch(`${metrics}${probe.httpGet.path}`)).status, probe.httpGet.path).toBe(200);
      }
      expect(await (await fetch(`${metrics}/metrics`)).text()).toMatch(
        /^credbridge_webhook_reviews_total\{outcome="mutated"\} 1$/m,
      );
    } finally {
      expect((await webhook.stop()).code).toBe(0);
    }
  });
});
