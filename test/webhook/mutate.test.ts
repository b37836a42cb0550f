/**
 * The mutation as a pure function, case by case: each fixtures/<case>.pod.yaml
 * is a pod as the API server hands it over, <case>.expected.json what the
 * webhook answers (a patch, a refusal, or nothing). A new case is a new file.
 * Every patch is applied with fast-json-patch, the result checked against the
 * Kubernetes API schema, and mutated again: the second patch must be empty.
 * CREDBRIDGE_UPDATE_FIXTURES=1 rewrites the expected files (review the diff).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import {
  ANNOTATIONS,
  COMMANDS,
  type Container,
  envNameOf,
  MAX_CONTAINERS,
  MAX_DENIAL_CHARS,
  type Mutation,
  mutatePod,
  type Pod,
  SIDECAR_NAME,
} from "@credbridge/cli";
import { describe, expect, it } from "vitest";
import { applyPatch, expectValidPod } from "./support/k8s.js";
import { awsWebhook, DEFAULTS, exampleTemplates, FIXTURES, podFixtures, readPod } from "./support/pods.js";

const SERVE_ENV = new Set(Object.keys(COMMANDS.serve!.flags).map(envNameOf));
/** What the sidecar may carry besides serve's own variables: what AWS's webhook gave the pod. */
const AWS_COPIED =
  /^AWS_(ROLE_ARN|WEB_IDENTITY_TOKEN_FILE|CONTAINER_CREDENTIALS_FULL_URI|CONTAINER_AUTHORIZATION_TOKEN_FILE|REGION|DEFAULT_REGION|STS_REGIONAL_ENDPOINTS|EC2_METADATA_DISABLED)$/;

const patched = (pod: Pod): Pod => {
  const m = mutatePod(pod, DEFAULTS);
  if (m.kind !== "patch") throw new Error(`expected a patch, got ${JSON.stringify(m)}`);
  return applyPatch(pod, m.patch);
};
const sidecarOf = (pod: Pod): Container | undefined =>
  pod.spec.initContainers?.find((c) => c.name === SIDECAR_NAME);
const envMap = (c: Container | undefined) => new Map((c?.env ?? []).map((e) => [e.name, e.value]));

/** What holds for every injected pod, whatever it asked for. */
const expectInjected = (before: Pod, after: Pod) => {
  expectValidPod(after);
  const sidecar = sidecarOf(after);
  expect(sidecar, "the sidecar is an init container").toBeDefined();
  expect(sidecar).toMatchObject({
    image: DEFAULTS.image,
    restartPolicy: "Always",
    args: ["serve"],
    startupProbe: { httpGet: { path: "/readyz" } },
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    resources: { requests: { memory: "64Mi" }, limits: { memory: "128Mi" } },
  });
  for (const { name } of sidecar!.env ?? []) {
    expect(
      SERVE_ENV.has(name) || AWS_COPIED.test(name),
      `${name} is read by credbridge serve or an SDK`,
    ).toBe(true);
  }
  const selected = before.metadata?.annotations?.[ANNOTATIONS.containers]?.split(",");
  for (const [i, app] of before.spec.containers.entries()) {
    if (selected && !selected.includes(app.name))
      expect(after.spec.containers[i], `${app.name} is not selected`).toEqual(app);
    else expect(after.spec.containers[i]).not.toEqual(app);
  }
};

describe("mutatePod on the fixtures", () => {
  for (const { name, pod, expectedFile } of podFixtures()) {
    it(`${name}: answers as ${name}.expected.json says`, () => {
      const got = mutatePod(pod, DEFAULTS);
      if (process.env.CREDBRIDGE_UPDATE_FIXTURES === "1") {
        writeFileSync(expectedFile, `${JSON.stringify(got, null, 2)}\n`);
      }
      expect(existsSync(expectedFile), `${expectedFile} is missing`).toBe(true);
      expect(got).toEqual(JSON.parse(readFileSync(expectedFile, "utf8")) as Mutation);
      if (got.kind === "deny") expect(got.message).toMatch(/credbridge\.io\/[a-z-]+/);
      if (got.kind !== "patch") return;
      const once = applyPatch(pod, got.patch);
      expectInjected(pod, once);
      expect(mutatePod(once, DEFAULTS), "applied twice = once").toEqual({ kind: "patch", patch: [] });
    });
  }
});

describe("reinvocation with AWS's pod-identity webhook", () => {
  const harbor = podFixtures().find((f) => f.name === "harbor-registry")!.pod;

  for (const mode of ["irsa", "pod-identity"] as const) {
    it(`${mode}: the same sidecar whether AWS's webhook ran before or after, and then nothing more to do`, () => {
      const awsFirst = patched(awsWebhook(harbor, mode));
      // credbridge first; AWS's webhook then adds its variables everywhere; the API server calls credbridge again.
      const firstPass = patched(harbor);
      const reinvoked = patched(awsWebhook(firstPass, mode));
      expectInjected(harbor, reinvoked);
      expect(mutatePod(reinvoked, DEFAULTS)).toEqual({ kind: "patch", patch: [] });
      expect(sidecarOf(reinvoked)).toEqual(sidecarOf(awsFirst));

      const sidecar = envMap(sidecarOf(reinvoked));
      expect(sidecar.get("CREDBRIDGE_SOURCE")).toBe(mode === "irsa" ? "web-identity" : "pod-identity");
      if (mode === "irsa")
        expect(sidecar.get("AWS_ROLE_ARN")).toBe("arn:aws:iam::111122223333:role/harbor-registry");
      else
        expect(sidecar.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")).toBe(
          "http://169.254.170.23/v1/credentials",
        );
      const tokenMount = mode === "irsa" ? "aws-iam-token" : "eks-pod-identity-token";
      expect(sidecarOf(reinvoked)?.volumeMounts?.map((m) => m.name)).toContain(tokenMount);
    });
  }

  it("a pod already injected is returned unchanged, even after AWS's webhook ran again", () => {
    const once = patched(awsWebhook(harbor, "irsa"));
    expect(mutatePod(awsWebhook(once, "irsa"), DEFAULTS)).toEqual({ kind: "patch", patch: [] });
  });

  it("the container output wins over Pod Identity's URI in the app, and the sidecar keeps the agent's", () => {
    const pod = structuredClone(harbor);
    pod.metadata!.annotations![ANNOTATIONS.outputs] = "container";
    const after = patched(awsWebhook(patched(pod), "pod-identity"));
    // AWS's webhook leaves variables a container already has: the app keeps credbridge's endpoint.
    expect(envMap(after.spec.containers[0]).get("AWS_CONTAINER_CREDENTIALS_FULL_URI")).toBe(
      "http://127.0.0.1:9754/v1/credentials",
    );
    expect(envMap(sidecarOf(after)).get("AWS_CONTAINER_CREDENTIALS_FULL_URI")).toBe(
      "http://169.254.170.23/v1/credentials",
    );
  });
});

describe("the examples' Deployment templates, as a chart would ship them, annotated instead", () => {
  for (const { name, pod } of exampleTemplates()) {
    it(`${name}: injected into a valid pod, once`, () => {
      for (const mode of ["irsa", "pod-identity"] as const) {
        const input = awsWebhook(pod, mode);
        const once = patched(input);
        expectInjected(input, once);
        expect(mutatePod(once, DEFAULTS)).toEqual({ kind: "patch", patch: [] });
      }
    });
  }
});

describe("pods built to cost the webhook more than their size", () => {
  const many = (count: number, prefix = "app") =>
    Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i}`, image: "example/app:1" }));

  it("refuses a pod of more containers than MAX_CONTAINERS that asks for injection, and lets one that does not through", () => {
    const pod: Pod = {
      metadata: { annotations: { [ANNOTATIONS.inject]: "true" } },
      spec: { initContainers: many(MAX_CONTAINERS, "init"), containers: many(1) },
    };
    expect(mutatePod(pod, DEFAULTS)).toEqual({
      kind: "deny",
      message: `credbridge: credbridge.io/inject: the pod has ${MAX_CONTAINERS + 1} containers and init containers; credbridge injects into pods of at most ${MAX_CONTAINERS}`,
    });
    expect(mutatePod({ ...pod, metadata: {} }, DEFAULTS)).toEqual({ kind: "skip" });
  });

  it("answers the 1.4 MB pod of 20 000 containers and 40 000 names at once (it took 43 s)", () => {
    const containers = many(20_000);
    const names = [...containers, ...containers].map((c) => c.name).join(",");
    const pod: Pod = {
      metadata: { annotations: { [ANNOTATIONS.inject]: "true", [ANNOTATIONS.containers]: names } },
      spec: { containers },
    };
    const started = performance.now();
    const answer = mutatePod(pod, DEFAULTS);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(answer).toEqual({
      kind: "deny",
      message: expect.stringMatching(/credbridge\.io\/containers lists 20000 names/),
    });
  });

  it("names three unknown credbridge.io annotations and counts the rest: 9 000 make a denial of a few hundred characters (each was one problem: 3 MB)", () => {
    const unknown = Object.fromEntries(
      Array.from({ length: 9_000 }, (_, i) => [`credbridge.io/${"x".repeat(200)}${i}`, ""]),
    );
    const pod: Pod = {
      metadata: { annotations: { [ANNOTATIONS.inject]: "true", ...unknown } },
      spec: { containers: many(1) },
    };
    const answer = mutatePod(pod, DEFAULTS);
    expect(answer.kind).toBe("deny");
    const message = answer.kind === "deny" ? answer.message : "";
    expect(message).toMatch(
      /^credbridge: unknown annotations "credbridge\.io\/x{86}…" \(\d+ characters\), .* and 8997 more; credbridge reads credbridge\.io\/inject, /,
    );
    expect(message.length).toBeLessThan(1_000);
  });

  it("cuts a denial to MAX_DENIAL_CHARS whatever the pod quotes into it (container names are not checked before mutation)", () => {
    const long = (i: number) => ({ name: `${"n".repeat(1_000_000)}${i}`, image: "example/app:1" });
    const pod: Pod = {
      metadata: {
        annotations: { [ANNOTATIONS.inject]: "true", [ANNOTATIONS.credentialsPath]: "/data/credentials" },
      },
      spec: {
        containers: [0, 1, 2].map((i) => ({
          ...long(i),
          volumeMounts: [{ name: "data", mountPath: "/data" }],
        })),
      },
    };
    const answer = mutatePod(pod, DEFAULTS);
    expect(answer.kind).toBe("deny");
    const message = answer.kind === "deny" ? answer.message : "";
    expect(message).toMatch(
      /^credbridge: credbridge\.io\/credentials-path: container\(s\) n+… \(\d+ characters\)$/,
    );
    expect(message.length).toBeLessThanOrEqual(MAX_DENIAL_CHARS + 30);
  });

  it("adds the sidecar without copying the pod's own init containers: a 2.9 MB argument makes a patch of a few KiB (it was 3.7 MB)", () => {
    const harbor = readPod(`${FIXTURES}/harbor-registry-irsa.pod.yaml`);
    const pod: Pod = {
      ...harbor,
      spec: {
        ...harbor.spec,
        initContainers: [{ name: "init", image: "example/init:1", args: ["a".repeat(2_900_000)] }],
      },
    };
    const answer = mutatePod(pod, DEFAULTS);
    if (answer.kind !== "patch") throw new Error(`expected a patch, got ${answer.kind}`);
    expect(JSON.stringify(answer.patch).length).toBeLessThan(16 * 1024);
    const after = applyPatch(pod, answer.patch);
    expect(after.spec.initContainers?.map((c) => c.name)).toEqual([SIDECAR_NAME, "init"]);
    expect(after.spec.initContainers?.[1]?.args).toEqual(pod.spec.initContainers![0]!.args);
    expectInjected(pod, after);
    expect(mutatePod(after, DEFAULTS)).toEqual({ kind: "patch", patch: [] });
  });

  it("refuses a pod whose AWS variables the sidecar would copy are longer than any ARN, path or URL (a 2.9 MB AWS_ROLE_ARN made a 3.7 MiB answer)", () => {
    const pod = readPod(`${FIXTURES}/harbor-registry-irsa.pod.yaml`);
    const arn = pod.spec.containers[0]!.env!.find((e) => e.name === "AWS_ROLE_ARN")!;
    arn.value = `arn:aws:iam::123456789012:role/${"a".repeat(2_900_000)}`;
    expect(mutatePod(pod, DEFAULTS)).toEqual({
      kind: "deny",
      message: `credbridge: credbridge.io/inject: container "${pod.spec.containers[0]!.name}" sets AWS_ROLE_ARN to 2900031 characters; the sidecar copies it and takes at most 4096`,
    });
  });
});
