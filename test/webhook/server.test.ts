/**
 * `credbridge webhook` as the API server meets it: real HTTPS with a CA and a
 * serving certificate made here with openssl, trusted through the caBundle
 * alone, AdmissionReview v1 in and out, the certificate rotated on disk (a
 * Secret volume's symlink swap) while it runs.
 */
import { readFileSync } from "node:fs";
import { mutatePod } from "@credbridge/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, runCli, startCli } from "../support/cli.js";
import { makeCa, SERVICE_HOST, secretVolume } from "../support/pki.js";
import { tempDir } from "../support/tmp.js";
import { admissionReview, callWebhook, decodePatch, responseOf, webhookArgs } from "./support/admission.js";
import { DEFAULTS, FIXTURES, readPod } from "./support/pods.js";

const VERSION = (
  JSON.parse(readFileSync(new URL("../../packages/cli/package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;
const NAMES = [SERVICE_HOST, `${SERVICE_HOST}.cluster.local`, "127.0.0.1"];
/** A value no log line may carry: a pod's own secret environment variable. */
const POD_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let ca: Awaited<ReturnType<typeof makeCa>>;
let volume: Awaited<ReturnType<typeof secretVolume>>;
let webhook: ReturnType<typeof startCli>;
let port: number;

const harbor = () => {
  const pod = readPod(`${FIXTURES}/harbor-registry-irsa.pod.yaml`);
  pod.spec.containers[0]!.env!.push({ name: "APP_SECRET", value: POD_SECRET });
  return pod;
};
const call = (body: unknown, options: Parameters<typeof callWebhook>[3] = {}) =>
  callWebhook(port, ca.caBundle, typeof body === "string" ? body : JSON.stringify(body), options);

beforeAll(async () => {
  tmp = await tempDir("credbridge-webhook-");
  ca = await makeCa(tmp.path("ca"));
  volume = await secretVolume(tmp.path("serving-cert"));
  const first = await ca.issue(NAMES);
  await volume.write({ "tls.crt": first.cert, "tls.key": first.key });
  webhook = startCli(
    webhookArgs(volume),
    cleanEnv(tmp.dir, { CREDBRIDGE_ADDRESS_IMAGE: DEFAULTS.addressImage }),
  );
  const line = await webhook.waitFor((l) => l.msg === "webhook listening");
  expect(String(line.url)).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  port = Number(new URL(String(line.url)).port);
});

afterAll(async () => {
  const exit = await webhook?.stop();
  expect(exit?.code).toBe(0);
  expect(webhook.lines.join("\n")).not.toContain(POD_SECRET);
  for (const line of webhook.lines) expect(() => JSON.parse(line), line).not.toThrow();
  await tmp?.cleanup();
});

describe("credbridge webhook over HTTPS", () => {
  it("patches an annotated pod as mutatePod does, the uid copied, the sidecar's image this version's", async () => {
    const pod = harbor();
    const review = admissionReview(pod);
    const answer = responseOf(await call(review));
    expect(answer).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" });
    expect(answer.response).toMatchObject({ uid: review.request.uid, allowed: true, patchType: "JSONPatch" });
    const expected = mutatePod(pod, { ...DEFAULTS, image: `ghcr.io/credbridge/credbridge:${VERSION}` });
    expect(expected.kind).toBe("patch");
    expect(decodePatch(answer.response.patch)).toEqual(expected.kind === "patch" ? expected.patch : []);
    await webhook.waitFor(
      (l) => l.msg === "admission review" && l.uid === review.request.uid && l.outcome === "patch",
    );
  });

  it("reads a chunked body as well as one with a Content-Length", async () => {
    const review = admissionReview(harbor());
    const answer = responseOf(await call(review, { chunked: true }));
    expect(answer.response).toMatchObject({ uid: review.request.uid, allowed: true, patchType: "JSONPatch" });
  });

  it("allows objects that are not Pods, and pods without the annotation, unchanged", async () => {
    const configMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", namespace: "shop" },
      data: {},
    };
    const cm = responseOf(
      await call(admissionReview(configMap, { group: "", version: "v1", kind: "ConfigMap" }, "configmaps")),
    );
    expect(cm.response).toEqual({ uid: expect.any(String), allowed: true });
    const plain = responseOf(await call(admissionReview(readPod(`${FIXTURES}/no-annotation.pod.yaml`))));
    expect(plain.response.allowed).toBe(true);
    expect(plain.response.patch).toBeUndefined();
  });

  it("refuses a pod whose annotations it cannot honour, naming the annotation and the accepted values", async () => {
    const answer = responseOf(await call(admissionReview(readPod(`${FIXTURES}/bad-outputs.pod.yaml`))));
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status?.code).toBe(403);
    expect(answer.response.status?.message).toMatch(/credbridge\.io\/outputs .*file, imds, container/);
  });

  it("answers a malformed review with 400 and keeps serving", async () => {
    const pod = harbor();
    const malformed: [string, unknown][] = [
      ["not JSON", "{"],
      ["another API version", { ...admissionReview(pod), apiVersion: "admission.k8s.io/v1beta1" }],
      ["no request", { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }],
      ["no uid", { ...admissionReview(pod), request: { ...admissionReview(pod).request, uid: "" } }],
      ["a Pod without containers", admissionReview({ metadata: { name: "x" }, spec: {} })],
      [
        "a container whose env is not a list",
        admissionReview({ spec: { containers: [{ name: "app", image: "x", env: { A: "1" } }] } }),
      ],
      [
        "an annotation that is not a string",
        admissionReview({ ...pod, metadata: { annotations: { a: 1 } } }),
      ],
    ];
    for (const [what, body] of malformed) {
      const reply = await call(body);
      expect(reply.status, what).toBe(400);
      expect(JSON.parse(reply.body).message, what).toBeTruthy();
    }
    expect(responseOf(await call(admissionReview(pod))).response.allowed).toBe(true);
  });

  it("refuses a request.uid that is not the API server's UUID (400), echoing none of it (a 2 MB uid came back as a 1.9 MiB answer)", async () => {
    const review = admissionReview(harbor());
    const reply = await call({ ...review, request: { ...review.request, uid: "u".repeat(2_000_000) } });
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body).message).toBe(
      "request.uid must be the UUID the API server gives each review (36 characters); got 2000000 characters",
    );
    expect(reply.body.length).toBeLessThan(200);
  });

  it("logs a review with the pod's name and namespace cut short and its denial capped, however long the pod makes them", async () => {
    const pod = harbor();
    pod.metadata!.name = "p".repeat(1_000_000);
    for (let i = 0; i < 3_000; i++) pod.metadata!.annotations![`credbridge.io/${"x".repeat(100)}${i}`] = "";
    const review = admissionReview(pod);
    review.request.namespace = "s".repeat(1_000_000);
    const answer = responseOf(await call(review));
    expect(answer.response.allowed).toBe(false);
    expect(String(answer.response.status?.message)).toMatch(/and 2997 more; credbridge reads/);
    await webhook.waitFor((l) => l.msg === "admission review" && l.uid === review.request.uid);
    const line = webhook.lines.find((l) => l.includes(review.request.uid))!;
    expect(line.length).toBeLessThan(4 * 1024);
    expect(JSON.parse(line)).toMatchObject({
      level: "warn",
      outcome: "deny",
      pod: `${"p".repeat(253)}… (1000000 characters)`,
      namespace: `${"s".repeat(253)}… (1000000 characters)`,
    });
  });

  it("is hardened like the other servers: Host, method, size limits; /healthz and /readyz", async () => {
    expect((await call(admissionReview(harbor()), { host: "attacker.example" })).status).toBe(403);
    expect((await call("", { method: "GET" })).status).toBe(405);
    // Refused on the announced length, before a byte of the body is read.
    const huge = { headers: { "content-length": String(4 * 1024 * 1024) } };
    expect((await call("", huge)).status).toBe(413);
    expect((await call("", { method: "GET", path: "/healthz" })).status).toBe(200);
    expect((await call("", { method: "GET", path: "/readyz" })).status).toBe(200);
    expect((await call("", { method: "GET", path: "/metrics" })).status).toBe(404);
  });

  it("serves a rotated certificate once the Secret volume is updated, and keeps the old one through a half-written rotation", async () => {
    const before = (await call("", { method: "GET", path: "/healthz" })).fingerprint;
    const next = await ca.issue(NAMES);
    const other = await ca.issue(NAMES);
    // Half-written: the new certificate with another key. The old pair stays in use.
    await volume.write({ "tls.crt": next.cert, "tls.key": other.key });
    await webhook.waitFor((l) => l.msg === "serving certificate not reloaded; keeping the previous one");
    expect((await call("", { method: "GET", path: "/healthz" })).fingerprint).toBe(before);
    await volume.write({ "tls.crt": next.cert, "tls.key": next.key });
    await expect
      .poll(async () => (await call("", { method: "GET", path: "/healthz" })).fingerprint, {
        timeout: 15_000,
      })
      .not.toBe(before);
    await webhook.waitFor((l) => l.msg === "serving certificate reloaded");
    expect(responseOf(await call(admissionReview(harbor()))).response.patchType).toBe("JSONPatch");
  });
});

describe("credbridge webhook configuration errors", () => {
  it("names the missing flag, and the file it cannot read", async () => {
    const env = cleanEnv(tmp.dir);
    const noListen = await runCli(["webhook", "--tls-cert-file", "a", "--tls-key-file", "b"], env);
    expect(noListen.code).toBe(2);
    expect(noListen.stderr).toMatch(/webhook needs --listen/);
    const missing = await runCli(
      webhookArgs({ certFile: tmp.path("nope.crt"), keyFile: volume.keyFile }),
      env,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--tls-cert-file .*nope\.crt cannot be read/);
  });

  it("takes every flag from CREDBRIDGE_* too, --image included", async () => {
    const cli = startCli(
      ["webhook"],
      cleanEnv(tmp.dir, {
        CREDBRIDGE_LISTEN: "127.0.0.1:0",
        CREDBRIDGE_TLS_CERT_FILE: volume.certFile,
        CREDBRIDGE_TLS_KEY_FILE: volume.keyFile,
        CREDBRIDGE_IMAGE: "registry.example/credbridge:pinned",
      }),
    );
    try {
      const url = String((await cli.waitFor((l) => l.msg === "webhook listening")).url);
      const reply = await callWebhook(
        Number(new URL(url).port),
        ca.caBundle,
        JSON.stringify(admissionReview(harbor())),
      );
      const patch = decodePatch(responseOf(reply).response.patch) as {
        path: string;
        value: { image?: string }[];
      }[];
      const inits = patch.find((op) => op.path === "/spec/initContainers");
      expect(inits?.value[0]?.image).toBe("registry.example/credbridge:pinned");
    } finally {
      expect((await cli.stop()).code).toBe(0);
    }
  });
});
