// `credbridge webhook` answering AdmissionReviews of Harbor's registry pod (the
// IRSA fixture of test/webhook) at 50 concurrent reviews, as the API server
// sends them (HTTPS, keep-alive), against bare node:https reading the same
// body and answering the webhook's own answer as fixed bytes, on the same Node
// binary (lib.mjs's nodeBinaries), in alternating rounds; the median round
// counts. A third server, the same bare one parsing each review and
// stringifying its answer, is the floor any webhook in JavaScript stands on
// (see bench/peers/bare-https.mjs). The webhook runs with its Deployment's NODE_OPTIONS
// (examples/kubernetes/webhook/webhook.yaml), as it ships.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuUs, median, nodeBinaries, root, run1, stop, toMs, waitForLine } from "./lib.mjs";

const CLI = join(root, "packages/cli/bin/credbridge.cjs");
const BARE = join(root, "bench/peers/bare-https.mjs");
const POD = join(root, "test/webhook/fixtures/harbor-registry-irsa.pod.yaml");
const DEPLOYMENT = join(root, "examples/kubernetes/webhook/webhook.yaml");
const WRK = "/usr/bin/wrk";
const SECONDS = Number(process.env.BENCH_DURATION_S ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENT = 50;
const HOST = "credbridge-webhook.credbridge.svc";

const yaml = createRequire(join(root, "test/package.json"))("yaml");

/** The webhook container's NODE_OPTIONS in the example Deployment. */
const deployedNodeOptions = () => {
  const deployment = yaml
    .parseAllDocuments(readFileSync(DEPLOYMENT, "utf8"))
    .map((d) => d.toJS())
    .find((o) => o?.kind === "Deployment");
  return deployment.spec.template.spec.containers[0].env.find((e) => e.name === "NODE_OPTIONS")?.value ?? "";
};

/** A CA and a serving certificate for the Service name and 127.0.0.1, made with openssl. */
const certificates = (dir) => {
  const openssl = (...args) => execFileSync("openssl", args, { stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    join(dir, "ca.key"),
    "-out",
    join(dir, "ca.crt"),
    "-days",
    "1",
    "-subj",
    "/CN=bench-ca",
  );
  openssl(
    "req",
    ...ec,
    "-keyout",
    join(dir, "tls.key"),
    "-out",
    join(dir, "tls.csr"),
    "-subj",
    `/CN=${HOST}`,
  );
  writeFileSync(
    join(dir, "tls.ext"),
    `subjectAltName=DNS:${HOST},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    "x509",
    "-req",
    "-in",
    join(dir, "tls.csr"),
    "-CA",
    join(dir, "ca.crt"),
    "-CAkey",
    join(dir, "ca.key"),
    "-set_serial",
    "1",
    "-days",
    "1",
    "-extfile",
    join(dir, "tls.ext"),
    "-out",
    join(dir, "tls.crt"),
  );
  return { cert: join(dir, "tls.crt"), key: join(dir, "tls.key") };
};

const review = () =>
  JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "0b7a4b3e-5f1e-4c38-9a51-7c2f0d3e1a10",
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      requestResource: { group: "", version: "v1", resource: "pods" },
      namespace: "harbor",
      operation: "CREATE",
      userInfo: {
        username: "system:serviceaccount:kube-system:replicaset-controller",
        groups: ["system:serviceaccounts"],
      },
      object: yaml.parse(readFileSync(POD, "utf8")),
      oldObject: null,
      dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  });

/** One wrk run of POSTed reviews: p50 and p99 in ms, reviews/s, and the server's CPU per review in µs. */
const wrk = async (target, script, seconds) => {
  const cpuBefore = cpuUs(target.pid);
  const out = await run1(WRK, [
    "-t2",
    `-c${CONCURRENT}`,
    `-d${seconds}s`,
    "--latency",
    "-s",
    script,
    target.url,
  ]);
  const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1];
  if (errors) throw new Error(`${target.url}: ${errors} non-2xx answers under load`);
  const at = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1], m[2]) : Number.NaN;
  };
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  return {
    p50: at(50),
    p99: at(99),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    cpu: (cpuUs(target.pid) - cpuBefore) / total,
  };
};

const measureNode = async ({ label, bin }) => {
  const dir = mkdtempSync(join(tmpdir(), "credbridge-bench-webhook-"));
  const children = [];
  try {
    const tls = certificates(dir);
    const body = review();
    writeFileSync(join(dir, "review.json"), body);
    const webhook = spawn(
      bin,
      [CLI, "webhook", "--listen", "127.0.0.1:0", "--tls-cert-file", tls.cert, "--tls-key-file", tls.key],
      {
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          NODE_OPTIONS: process.env.BENCH_WEBHOOK_NODE_OPTIONS ?? deployedNodeOptions(),
        },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    children.push(webhook);
    const url = await waitForLine(
      webhook,
      "stderr",
      (l) => (l.msg === "webhook listening" ? l.url : undefined),
      "webhook listening",
    );
    // The webhook's answer, as the bare peer's fixed bytes.
    const answer = execFileSync("curl", [
      "-sk",
      "--data-binary",
      `@${join(dir, "review.json")}`,
      "-H",
      "Content-Type: application/json",
      "-H",
      `Host: ${HOST}:443`,
      `${url}/mutate`,
    ]);
    if (!answer.includes('"patchType":"JSONPatch"'))
      throw new Error(`the webhook did not patch the pod: ${answer}`);
    writeFileSync(join(dir, "answer.json"), answer);
    const bare = spawn(bin, [BARE, tls.cert, tls.key, join(dir, "answer.json")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(bare);
    const barePort = await waitForLine(bare, "stdout", (l) => l.port, "bare https port");
    const floor = spawn(bin, [BARE, tls.cert, tls.key, join(dir, "answer.json"), "json"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(floor);
    const floorPort = await waitForLine(floor, "stdout", (l) => l.port, "bare https (json) port");
    const script = join(dir, "review.lua");
    writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Host"] = "${HOST}:443"\nlocal f = io.open("${join(dir, "review.json")}", "rb")\nwrk.body = f:read("*a")\nf:close()\n`,
    );
    const targets = {
      bare: { pid: bare.pid, url: `https://127.0.0.1:${barePort}/mutate?timeout=5s` },
      floor: { pid: floor.pid, url: `https://127.0.0.1:${floorPort}/mutate?timeout=5s` },
      webhook: { pid: webhook.pid, url: `${url}/mutate?timeout=5s` },
    };
    for (const target of Object.values(targets)) await wrk(target, script, 1); // warm-up
    const results = { bare: [], floor: [], webhook: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of Object.keys(results)) results[name].push(await wrk(targets[name], script, SECONDS));
    }
    const m = (name, key) => median(results[name].map((r) => r[key]));
    const how = `wrk -t2 -c${CONCURRENT}, keep-alive, median of ${ROUNDS} rounds of ${SECONDS} s; ${Buffer.byteLength(body)} B review`;
    return [
      {
        name: `webhook ${label}: Harbor pod review at ${CONCURRENT} concurrent, p99`,
        value: m("webhook", "p99"),
        unit: "ms",
        peer: `bare node:https ${m("bare", "p99").toFixed(2)} ms`,
        ratio: m("webhook", "p99") / m("bare", "p99"),
        goal: "ratio ≤ 1.25",
        pass: m("webhook", "p99") / m("bare", "p99") <= 1.25,
        note: how,
      },
      {
        name: `webhook ${label}: Harbor pod review at ${CONCURRENT} concurrent, p50`,
        value: m("webhook", "p50"),
        unit: "ms",
        peer: `bare node:https ${m("bare", "p50").toFixed(2)} ms`,
        ratio: m("webhook", "p50") / m("bare", "p50"),
        note: `${Math.round(m("webhook", "rps"))} vs ${Math.round(m("bare", "rps"))} reviews/s`,
      },
      {
        name: `webhook ${label}: server CPU per review`,
        value: m("webhook", "cpu"),
        unit: "µs",
        peer: `bare node:https ${m("bare", "cpu").toFixed(1)} µs`,
        ratio: m("webhook", "cpu") / m("bare", "cpu"),
        note: "parse, mutate, patch, log; the peer only reads the body and writes fixed bytes",
      },
      {
        name: `webhook ${label}: the JSON floor (bare node:https + JSON.parse of the review + JSON.stringify of the answer), p99`,
        value: m("floor", "p99"),
        unit: "ms",
        peer: `bare node:https ${m("bare", "p99").toFixed(2)} ms`,
        ratio: m("floor", "p99") / m("bare", "p99"),
        note: `CPU ${m("floor", "cpu").toFixed(1)} µs/review; the webhook at ${(m("webhook", "p99") / m("floor", "p99")).toFixed(2)}× this floor's p99, ${(m("webhook", "cpu") / m("floor", "cpu")).toFixed(2)}× its CPU`,
      },
    ];
  } finally {
    await Promise.all(children.map(stop));
    rmSync(dir, { recursive: true, force: true });
  }
};

export async function run() {
  const rows = [];
  for (const node of nodeBinaries()) rows.push(...(await measureNode(node)));
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
