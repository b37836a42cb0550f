/**
 * The hostile-client table (test/support/hostile.ts) against the four servers
 * as they run in a pod or a cluster: `credbridge serve`'s IMDS, container
 * endpoint and metrics server, and `credbridge webhook`, each in its own
 * process (its memory its own), with the limits they ship with. The cases that
 * only wait for the servers' timeouts run side by side; the others one at a
 * time, so each measures the memory it costs.
 */
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import type { Pod } from "@credbridge/cli";
import { afterAll, beforeAll, describe, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { listeningUrl, type RunningCli, startCli } from "../support/cli.js";
import { HOSTILE_CASES, type HostileTarget, runHostileCase } from "../support/hostile.js";
import { irsaFixture } from "../support/irsa.js";
import { makeCa, SERVICE_HOST } from "../support/pki.js";
import { admissionReview, webhookArgs } from "../webhook/support/admission.js";
import { FIXTURES, readPod } from "../webhook/support/pods.js";

const MiB = 1024 * 1024;
/** @credbridge/http's defaults, which serve's servers keep. */
const DEFAULT_LIMITS = {
  maxHeaderSize: 8192,
  maxBodyBytes: 1024,
  maxBufferedBytes: undefined,
  handshakeTimeoutMs: undefined,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  maxConnections: 1024,
};
/** The sidecar's and the webhook's memory limit in the examples. */
const CONTAINER_LIMIT_MIB = 128;
/** Enough descriptors for 1 100 connections: `ulimit -n` before the server starts. */
const RAISED_FILES = (command: string, args: readonly string[]): [string, string[]] => [
  "sh",
  ["-c", 'ulimit -n 8192 && exec "$0" "$@"', command, ...args],
];

const request = (
  method: string,
  path: string,
  host: string,
  headers: Record<string, string> = {},
  body = "",
) =>
  `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}${body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ""}\r\n${body}`;

/** A path of as many one-letter segments as fit in a head: the parser's per-segment work. */
const manySegments = `/${"a/".repeat(3_900)}a`;
/** As many small headers as fit in a head. */
const manyHeaders = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`X-H${i}`, "b"]));

/** NODE_OPTIONS as examples/kubernetes/webhook/webhook.yaml sets them for the webhook container. */
const webhookNodeOptions = (): string => {
  const manifest = readFileSync(
    new URL("../../examples/kubernetes/webhook/webhook.yaml", import.meta.url),
    "utf8",
  );
  const deployment = parseAllDocuments(manifest)
    .map((d) => d.toJS() as { kind?: string; spec?: { template?: Pod } })
    .find((o) => o?.kind === "Deployment");
  const value = deployment?.spec?.template?.spec.containers[0]?.env?.find(
    (e) => e.name === "NODE_OPTIONS",
  )?.value;
  if (!value)
    throw new Error("examples/kubernetes/webhook/webhook.yaml sets no NODE_OPTIONS for the webhook");
  return value;
};

/**
 * One of `serve`'s plain-HTTP servers as a target: its honest GET (200), and
 * the expensive inputs they share — a path of as many segments and a head of as
 * many headers as 8 KiB hold — besides its own.
 */
const serveTarget = (
  name: string,
  cli: RunningCli,
  serverPort: number,
  shape: {
    honest: { path: string; headers: Record<string, string> };
    bodyPath: string;
    own: (host: string) => HostileTarget["quadratic"];
  },
): HostileTarget => {
  const host = `127.0.0.1:${serverPort}`;
  const { path, headers } = shape.honest;
  return {
    name,
    pid: cli.child.pid!,
    endpoint: { port: serverPort },
    host,
    honest: { request: request("GET", path, host, headers), status: 200 },
    bodyPath: shape.bodyPath,
    limits: DEFAULT_LIMITS,
    largest: {
      name: "the honest request with 7 KiB of headers",
      request: request("GET", path, host, { ...headers, "X-Pad": "a".repeat(7_000) }),
      status: 200,
    },
    bigAnswer: { name: "the honest request", request: request("GET", path, host, headers), status: 200 },
    quadratic: [
      { name: "a path of 3 901 segments", request: request("GET", manySegments, host), status: 404 },
      {
        name: "600 headers",
        request: request("GET", path, host, { ...manyHeaders, ...headers }),
        status: 200,
      },
      ...shape.own(host),
    ],
    memoryLimitMiB: CONTAINER_LIMIT_MIB,
  };
};

let fx: Awaited<ReturnType<typeof irsaFixture>>;
const running: RunningCli[] = [];
const targets: HostileTarget[] = [];

const port = (url: string) => Number(new URL(url).port);

beforeAll(async () => {
  fx = await irsaFixture();
  const start = (args: string[]) => {
    const cli = startCli(args, fx.env(), RAISED_FILES);
    running.push(cli);
    return cli;
  };
  const imdsCli = start(["serve", "--imds", "127.0.0.1:0"]);
  const tokenFile = fx.tmp.path("container", "token");
  const containerCli = start([
    "serve",
    "--container-endpoint",
    "127.0.0.1:0",
    "--container-auth-token-file",
    tokenFile,
  ]);
  const metricsCli = start([
    "serve",
    "--credentials-file",
    fx.tmp.path("metrics", "credentials"),
    "--metrics",
    "127.0.0.1:0",
  ]);
  const ca = await makeCa(fx.tmp.path("ca"));
  const pair = await ca.issue([SERVICE_HOST, "127.0.0.1"]);
  await writeFile(fx.tmp.path("tls.crt"), pair.cert);
  await writeFile(fx.tmp.path("tls.key"), pair.key);
  const webhookCli = startCli(
    webhookArgs({ certFile: fx.tmp.path("tls.crt"), keyFile: fx.tmp.path("tls.key") }),
    // The Deployment's own heap settings: the memory budgets hold for the webhook as it ships.
    fx.env({ NODE_OPTIONS: webhookNodeOptions() }),
    RAISED_FILES,
  );
  running.push(webhookCli);

  const imds = port(await listeningUrl(imdsCli, "imds"));
  const container = port(await listeningUrl(containerCli, "container"));
  const metrics = port(await listeningUrl(metricsCli, "metrics"));
  // Written by serve before its container endpoint listens.
  const token = await readFile(tokenFile, "utf8");
  targets.push(
    serveTarget("imds", imdsCli, imds, {
      honest: { path: "/latest/meta-data/iam/security-credentials/", headers: {} },
      bodyPath: "/latest/api/token",
      own: (host) => [
        {
          name: "a 7 KiB token",
          request: request("GET", "/latest/meta-data/", host, {
            "X-aws-ec2-metadata-token": "A".repeat(7_000),
          }),
          status: 401,
        },
      ],
    }),
    serveTarget("container", containerCli, container, {
      honest: { path: "/v1/credentials", headers: { Authorization: token } },
      bodyPath: "/v1/credentials",
      own: (host) => [
        {
          name: "a 7 KiB Authorization",
          request: request("GET", "/v1/credentials", host, { Authorization: "A".repeat(7_000) }),
          status: 403,
        },
      ],
    }),
    serveTarget("metrics", metricsCli, metrics, {
      honest: { path: "/healthz", headers: {} },
      bodyPath: "/metrics",
      own: () => [],
    }),
  );

  const webhook = port(String((await webhookCli.waitFor((l) => l.msg === "webhook listening")).url));
  const webhookHost = `${SERVICE_HOST}:443`;
  const review = (pod: unknown) => JSON.stringify(admissionReview(pod));
  const harbor = readPod(`${FIXTURES}/harbor-registry-irsa.pod.yaml`);
  const containers = Array.from({ length: 20_000 }, (_, i) => ({ name: `app-${i}`, image: "example/app:1" }));
  /** The Harbor pod with `count` more annotations. */
  const annotated = (count: number, entry: (i: number) => [string, string]) =>
    review({
      ...harbor,
      metadata: {
        ...harbor.metadata,
        annotations: {
          ...harbor.metadata!.annotations,
          ...Object.fromEntries(Array.from({ length: count }, (_, i) => entry(i))),
        },
      },
    });
  /** `count` entries of distinct short names, from `from` on. */
  const names = (count: number, value: () => unknown, from = 0) =>
    Array.from({ length: count }, (_, i) => [(from + i).toString(36), value()] as const);
  const mutate = (body: string) =>
    request("POST", "/mutate?timeout=5s", webhookHost, { "Content-Type": "application/json" }, body);
  targets.push({
    name: "webhook",
    pid: webhookCli.child.pid!,
    endpoint: { port: webhook, tls: { ca: ca.caBundle, servername: SERVICE_HOST } },
    host: webhookHost,
    honest: { request: mutate(review(harbor)), status: 200 },
    bodyPath: "/mutate",
    limits: {
      ...DEFAULT_LIMITS,
      maxBodyBytes: 3 * MiB,
      maxBufferedBytes: 8 * MiB,
      maxConnections: 256,
      handshakeTimeoutMs: 5_000,
    },
    quadratic: [
      {
        name: "20 000 containers, 40 000 names in credbridge.io/containers",
        request: mutate(
          review({
            metadata: {
              name: "wide",
              annotations: {
                "credbridge.io/inject": "true",
                "credbridge.io/containers": [...containers, ...containers].map((c) => c.name).join(","),
              },
            },
            spec: { containers },
          }),
        ),
        status: 200,
      },
      {
        name: "one container with 60 000 variables",
        request: mutate(
          review({
            ...harbor,
            spec: {
              ...harbor.spec,
              containers: [
                {
                  ...harbor.spec.containers[0]!,
                  env: Array.from({ length: 60_000 }, (_, i) => ({ name: `V${i}`, value: "x" })),
                },
              ],
            },
          }),
        ),
        status: 200,
      },
      {
        name: "a million empty objects",
        request: mutate(
          review({ ...harbor, spec: { ...harbor.spec, x: Array.from({ length: 1_000_000 }, () => ({})) } }),
        ),
        status: 400,
      },
      {
        name: "arrays nested 100 000 deep",
        request: mutate(
          review({ ...harbor, x: "@" }).replace('"@"', `${"[".repeat(100_000)}${"]".repeat(100_000)}`),
        ),
        status: 400,
      },
      {
        name: "9 000 annotations of other tools",
        request: mutate(annotated(9_000, (i) => [`example.com/a${i}`, "x"])),
        status: 200,
      },
      {
        // Each was a problem of its own in the denial: 3 MB, logged whole.
        name: "9 000 unknown credbridge.io annotations of 200 characters",
        request: mutate(annotated(9_000, (i) => [`credbridge.io/${"x".repeat(200)}${i}`, ""])),
        status: 200,
        maxAnswerBytes: 8 * 1024,
      },
      {
        name: "60 000 annotations (more than 10 000 distinct names)",
        request: mutate(annotated(60_000, (i) => [`example.com/a${i}`, "x"])),
        status: 400,
      },
      {
        // Copied into the sidecar's environment, so into the patch: a 3.7 MiB answer.
        name: "a 2.9 MB AWS_ROLE_ARN",
        request: mutate(
          review({
            ...harbor,
            spec: {
              ...harbor.spec,
              containers: harbor.spec.containers.map((c, i) =>
                i === 0
                  ? {
                      ...c,
                      env: c.env?.map((e) =>
                        e.name === "AWS_ROLE_ARN" ? { ...e, value: `${e.value}${"a".repeat(2_900_000)}` } : e,
                      ),
                    }
                  : c,
              ),
            },
          }),
        ),
        status: 200,
        maxAnswerBytes: 8 * 1024,
      },
      {
        name: "one object of 250 000 names",
        request: mutate(
          review({ ...harbor, spec: { ...harbor.spec, x: Object.fromEntries(names(250_000, () => 0)) } }),
        ),
        status: 400,
      },
      {
        name: "2 500 objects of 100 names, none repeated",
        request: mutate(
          review({
            ...harbor,
            spec: {
              ...harbor.spec,
              x: Array.from({ length: 2_500 }, (_, o) => Object.fromEntries(names(100, () => 0, o * 100))),
            },
          }),
        ),
        status: 400,
      },
    ],
    largest: {
      name: "a 2.8 MiB pod: an init container with a 2.9 MB argument",
      request: mutate(
        review({
          ...harbor,
          spec: {
            ...harbor.spec,
            initContainers: [{ name: "init", image: "example/init:1", args: ["a".repeat(2_900_000)] }],
          },
        }),
      ),
      status: 200,
    },
    bigAnswer: {
      // Echoed in the answer before: a 1.9 MiB answer each.
      name: "a review of a 2 MB request.uid",
      request: mutate(
        JSON.stringify({
          ...admissionReview(harbor),
          request: { ...admissionReview(harbor).request, uid: "u".repeat(2_000_000) },
        }),
      ),
      status: 400,
    },
    memoryLimitMiB: CONTAINER_LIMIT_MIB,
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(running.map((cli) => cli.stop()));
  await fx?.close();
});

const SERVERS = ["imds", "container", "metrics", "webhook"] as const;
const target = (name: string): HostileTarget => {
  const t = targets.find((x) => x.name === name);
  if (!t) throw new Error(`${name} did not start`);
  return t;
};

describe.concurrent("hostile clients that only wait, against every server at once", () => {
  for (const name of SERVERS) {
    for (const c of HOSTILE_CASES.filter((x) => x.waits)) {
      it(`${name}: ${c.name}`, async () => {
        await runHostileCase(c, target(name));
      });
    }
  }
});

for (const name of SERVERS) {
  describe(`hostile clients against ${name}, one at a time`, () => {
    for (const c of HOSTILE_CASES.filter((x) => !x.waits)) {
      it(c.name, async () => {
        await runHostileCase(c, target(name));
      });
    }
  });
}
