/**
 * The IMDS output, where the address matters: Harbor's registry SDK (aws-sdk-go
 * v1.15) is hard-wired to http://169.254.169.254. The test makes a network
 * namespace (the pod's), runs the patched pod's address init container command
 * in it, then the STS emulator, the sidecar with the patched pod's own args and
 * env, and Debian's aws-sdk-go v1 with the registry container's env — less what
 * the registry's 2018 SDK does not read (web identity, the endpoint variable).
 * Root is needed for the namespace: without it the test fails, naming why.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { ADDRESS_INIT_NAME, mutatePod, SIDECAR_NAME } from "@credbridge/cli";
import { maskAccessKeyId } from "@credbridge/core";
import { mintWebIdentityToken } from "@credbridge/emulators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltCredcheck, buildCredcheck } from "../compat/support/go-build.js";
import { startLineClient } from "../compat/support/line-client.js";
import { cleanEnv, packageBin, startCli } from "../support/cli.js";
import { createNetworkNamespace, type NetworkNamespace } from "../support/netns.js";
import { tempDir } from "../support/tmp.js";
import { clientWorld } from "./support/client-env.js";
import { applyPatch } from "./support/k8s.js";
import { podRuntime } from "./support/pod-runtime.js";
import { DEFAULTS, FIXTURES, readPod } from "./support/pods.js";

const IP = "/usr/sbin/ip";
const EMULATORS = packageBin("@credbridge/emulators", "credbridge-emulators");
const run = promisify(execFile);
/** `command…` as a command line inside the test's namespace. */
const inNamespace = ([command, ...args]: string[]) => (ns as NetworkNamespace).wrap(command as string, args);

let tmp: Awaited<ReturnType<typeof tempDir>>;
let go: BuiltCredcheck;
let emulators: ChildProcess | undefined;
let ns: NetworkNamespace | undefined;
let stsUrl: string;

beforeAll(async () => {
  tmp = await tempDir("credbridge-injected-imds-");
  go = await buildCredcheck();
  // What the pod sandbox gives every pod: loopback up; the address is the injected init container's to add.
  ns = await createNetworkNamespace({ imdsAddress: false });
  const [command, args] = ns.wrap(process.execPath, [EMULATORS, "--verify-signatures"]);
  emulators = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: emulators!.stdout! }).once("line", resolve);
    emulators!.once("exit", (code) => reject(new Error(`the emulators exited with ${code}`)));
  });
  stsUrl = (JSON.parse(first) as { sts: string }).sts;
}, 300_000);

afterAll(async () => {
  emulators?.kill("SIGTERM");
  await ns?.close();
  await tmp?.cleanup();
});

describe("the injected IMDS output, in the pod's own network namespace", () => {
  it("aws-sdk-go v1 at the hard-wired 169.254.169.254 gets the chained session the annotations asked for", async () => {
    const input = readPod(`${FIXTURES}/harbor-registry-imds.pod.yaml`);
    const m = mutatePod(input, DEFAULTS);
    if (m.kind !== "patch") throw new Error(`expected a patch, got ${m.kind}`);
    const pod = applyPatch(input, m.patch);
    const runtime = podRuntime(pod, tmp.path("pod"));
    await runtime.mountVolumes({
      "aws-iam-token": {
        token: mintWebIdentityToken({ sub: "system:serviceaccount:harbor:harbor-registry" }),
      },
    });

    // The init containers, in order: first the address, as its own command says.
    expect(pod.spec.initContainers?.map((c) => c.name)).toEqual([ADDRESS_INIT_NAME, SIDECAR_NAME]);
    const addressCommand = runtime.container(ADDRESS_INIT_NAME).command as string[];
    await run(...inNamespace(addressCommand));
    // Idempotent: a restarted init container finds the address there.
    await run(...inNamespace(addressCommand));
    const { stdout } = await run(...inNamespace([IP, "-4", "addr", "show", "dev", "lo"]));
    expect(stdout).toContain("inet 169.254.169.254/32");

    const sidecar = startCli(
      runtime.args(SIDECAR_NAME),
      cleanEnv(tmp.dir, { ...runtime.env(SIDECAR_NAME), AWS_ENDPOINT_URL_STS: stsUrl }),
      (ns as NetworkNamespace).wrap,
    );
    try {
      const imds = await sidecar.waitFor((l) => l.msg === "IMDS listening");
      expect(imds.url).toBe("http://169.254.169.254");
      const refreshed = await sidecar.waitFor((l) => l.msg === "credentials refreshed");

      const app = runtime.env("registry");
      expect(app.AWS_EC2_METADATA_SERVICE_ENDPOINT).toBe("http://169.254.169.254");
      const { AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_EC2_METADATA_SERVICE_ENDPOINT, ...legacy } = app;
      const env = clientWorld(tmp.dir, stsUrl).env({ ...legacy, CREDCHECK_STS_ENDPOINT: stsUrl });
      delete env.AWS_EC2_METADATA_DISABLED;
      const client = startLineClient(
        ...(ns as NetworkNamespace).wrap(go.binary, ["session"]),
        env,
        "install Debian's golang-go and golang-github-aws-aws-sdk-go-dev",
      );
      try {
        const { creds } = await client.ask("get");
        expect(creds?.provider).toBe("EC2RoleProvider");
        expect(maskAccessKeyId(creds!.accessKeyId)).toBe(refreshed.accessKeyId);
        // Signed with exactly the issued key, secret and token: the emulator recomputes the signature.
        const { arn } = await client.ask("call");
        expect(arn).toBe("arn:aws:sts::444455556666:assumed-role/harbor-storage/harbor");
      } finally {
        await client.close();
      }
    } finally {
      expect((await sidecar.stop()).code).toBe(0);
    }
  });
});
