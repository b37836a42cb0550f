/**
 * The injected configuration runs for real: the sidecar's args and env are
 * taken from the patched pod and run as `credbridge serve` against the
 * emulators, and the app container's env is given to a real legacy client,
 * which must resolve exactly the credentials STS (or the Pod Identity agent)
 * issued. Paths go through the pod's volumes (a directory each) and addresses
 * the pod would reach are mapped to the emulators (see support/pod-runtime.ts).
 */
import { type Container, mutatePod, SIDECAR_NAME } from "@credbridge/cli";
import {
  mintWebIdentityToken,
  type PodIdentityAgent,
  type StsEmulator,
  startPodIdentityAgent,
  startStsEmulator,
} from "@credbridge/emulators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { goV1, jsV2 } from "../compat/support/clients.js";
import { type BuiltCredcheck, buildCredcheck } from "../compat/support/go-build.js";
import { cleanEnv, listeningUrl, readyMetricsUrl, startCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { clientWorld } from "./support/client-env.js";
import { applyPatch } from "./support/k8s.js";
import { podRuntime } from "./support/pod-runtime.js";
import { DEFAULTS, FIXTURES, readPod } from "./support/pods.js";

const HARBOR_ROLE = "arn:aws:iam::111122223333:role/harbor-registry";
const AGENT_TOKEN = "eks-pod-identity-token-from-the-kubelet";

let sts: StsEmulator;
let agent: PodIdentityAgent;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let go: BuiltCredcheck;

beforeAll(async () => {
  sts = await startStsEmulator({ verifySignatures: true });
  agent = await startPodIdentityAgent({ sts, roleArn: HARBOR_ROLE, token: AGENT_TOKEN });
  tmp = await tempDir("credbridge-injected-");
  go = await buildCredcheck();
}, 300_000);

afterAll(async () => {
  await agent?.close();
  await sts?.close();
  await tmp?.cleanup();
});

/** The fixture pod, mutated as the webhook answers it. */
const injected = (fixture: string) => {
  const pod = readPod(`${FIXTURES}/${fixture}.pod.yaml`);
  const m = mutatePod(pod, DEFAULTS);
  if (m.kind !== "patch") throw new Error(`${fixture}: expected a patch, got ${m.kind}`);
  return applyPatch(pod, m.patch);
};

/** Runs the sidecar as the kubelet would, and waits for its startup probe (/readyz) to pass. */
const startSidecar = async (runtime: ReturnType<typeof podRuntime>, addresses: Record<string, string>) => {
  const env = runtime.env(SIDECAR_NAME, addresses);
  const cli = startCli(
    runtime.args(SIDECAR_NAME),
    // AWS's regional STS endpoint is the emulator here.
    cleanEnv(tmp.dir, { ...env, AWS_ENDPOINT_URL_STS: sts.url }),
  );
  await readyMetricsUrl(cli, 15_000);
  return cli;
};

const world = () => ({ ...clientWorld(tmp.dir, sts.url), sts });

const sidecarOf = (containers: Container[] | undefined) => containers?.find((c) => c.name === SIDECAR_NAME);

describe("the injected sidecar, run as the patched pod says", () => {
  it("IRSA + file (Harbor's registry): aws-sdk-go v1 reads exactly the self-assumed session from the shared file", async () => {
    const pod = injected("harbor-registry-irsa");
    expect(sidecarOf(pod.spec.initContainers)?.args).toEqual(["serve"]);
    const runtime = podRuntime(pod, tmp.path("irsa"));
    await runtime.mountVolumes({
      "aws-iam-token": {
        token: mintWebIdentityToken({ sub: "system:serviceaccount:harbor:harbor-registry" }),
      },
    });
    const sidecar = await startSidecar(runtime, { "0.0.0.0:9753": "127.0.0.1:0" });
    const client = goV1(world(), go.binary, "shared-file")(runtime.env("registry"));
    try {
      const { creds } = await client.ask("get");
      expect(sts.calls.map((c) => c.action)).toEqual(["AssumeRoleWithWebIdentity", "AssumeRole"]);
      const issued = sts.issued.at(-1)!;
      expect(issued.roleArn).toBe(HARBOR_ROLE);
      expect(creds).toMatchObject({
        accessKeyId: issued.accessKeyId,
        secretAccessKey: issued.secretAccessKey,
        sessionToken: issued.sessionToken,
      });
    } finally {
      await client.close();
      expect((await sidecar.stop()).code).toBe(0);
      sts.reset();
    }
  });

  // The container output hands the app a token *file*: aws-sdk-go v1 and Debian's botocore read only
  // AWS_CONTAINER_AUTHORIZATION_TOKEN (test/compat/MATRIX.md), so the client here is aws-sdk v2 (2018's
  // JavaScript SDK, the legacy one that reads the file). Those two use the file or IMDS outputs.
  it("Pod Identity + container endpoint: aws-sdk v2 gets exactly the agent's credentials through the sidecar", async () => {
    const pod = injected("harbor-registry-pod-identity");
    const runtime = podRuntime(pod, tmp.path("pod-identity"));
    await runtime.mountVolumes({ "eks-pod-identity-token": { "eks-pod-identity-token": AGENT_TOKEN } });
    const sidecar = await startSidecar(runtime, {
      "http://169.254.170.23/v1/credentials": agent.credentialsUrl,
      "0.0.0.0:9753": "127.0.0.1:0",
      "127.0.0.1:9754": "127.0.0.1:0",
    });
    const endpoint = await listeningUrl(sidecar, "container");
    const app = runtime.env("registry", { "http://127.0.0.1:9754/v1/credentials": endpoint });
    expect(app.AWS_CONTAINER_CREDENTIALS_FULL_URI).toBe(endpoint);
    const client = jsV2(world())(app);
    try {
      const { creds } = await client.ask("get");
      const served = agent.issued.at(-1)!;
      expect(agent.calls.every((c) => c.tokenMatched)).toBe(true);
      expect({
        accessKeyId: creds?.accessKeyId,
        secretAccessKey: creds?.secretAccessKey,
        sessionToken: creds?.sessionToken,
      }).toEqual({
        accessKeyId: served.accessKeyId,
        secretAccessKey: served.secretAccessKey,
        sessionToken: served.sessionToken,
      });
      // registryctl was not selected: it still has only what AWS's webhook gave it.
      expect(runtime.env("registryctl").AWS_CONTAINER_CREDENTIALS_FULL_URI).toBe(
        "http://169.254.170.23/v1/credentials",
      );
    } finally {
      await client.close();
      expect((await sidecar.stop()).code).toBe(0);
    }
  });
});
