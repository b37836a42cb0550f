/**
 * `credbridge serve` from the image, run by podman as the IRSA example's
 * manifest runs it (its env, args and security context, the pod's fsGroup):
 * the STS emulator on the host, reached over podman's bridge as a pod reaches
 * STS; /readyz through a published port, as the kubelet probes it; the
 * credentials file in a mounted volume, read by the AWS CLI as the registry's
 * uid; SIGTERM to PID 1.
 */
import { readFileSync } from "node:fs";
import { chmod, chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { mintWebIdentityToken, type StsEmulator, startStsEmulator } from "@credbridge/emulators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCli } from "../support/cli.js";
import { APP_ROLE } from "../support/irsa.js";
import { run } from "../support/run.js";
import { tempDir } from "../support/tmp.js";
import {
  bridgeGateway,
  containerName,
  envFlags,
  pidOne,
  publishedAddress,
  removeContainer,
  startContainer,
  untilLogged,
} from "./support/container.js";
import { type BuiltImage, LIMITS, podman, podmanExit, theImage } from "./support/image.js";
import { credbridgeContainer, envOf, podOf, securityFlags } from "./support/pod.js";

const AWS = "/usr/bin/aws";
const TOKEN_PATH = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
const pod = podOf("irsa/harbor-registry.yaml");
const sidecar = credbridgeContainer(pod);
const manifestEnv = envOf(sidecar);
const credentialsPath = manifestEnv.CREDBRIDGE_CREDENTIALS_FILE!;
const metricsPort = manifestEnv.CREDBRIDGE_METRICS!.split(":").at(-1)!;
/** The registry's uid and the pod's fsGroup: who reads the file. */
const APP = { uid: pod.securityContext!.fsGroup!, gid: pod.securityContext!.fsGroup! };

let image: BuiltImage;
let sts: StsEmulator;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let sidecarRun: RunningCli;
const name = containerName("serve");

const credentialsOnHost = () => tmp.path("aws", "credentials");

beforeAll(async () => {
  image = await theImage();
  // The bridge exists once a container has used it; the STS emulator listens on its gateway.
  const probe = await podman(["run", "--rm", ...LIMITS, "--network", "podman", image.image, "--version"]);
  expect(probe.stdout.trim()).toBe(image.version);
  sts = await startStsEmulator({ host: await bridgeGateway() });
  tmp = await tempDir("credbridge-image-serve-");
  // The registry's uid reaches the volume on the host through this directory.
  await chmod(tmp.dir, 0o711);
  await writeFile(
    tmp.path("token"),
    mintWebIdentityToken({ sub: "system:serviceaccount:harbor:harbor-registry" }),
  );
  await chmod(tmp.path("token"), 0o644);
  // An emptyDir under the pod's fsGroup: group fsGroup, setgid, writable by all.
  await mkdir(tmp.path("aws"));
  await chown(tmp.path("aws"), 0, APP.gid);
  await chmod(tmp.path("aws"), 0o2777);

  const env = {
    ...manifestEnv,
    // What EKS's pod identity webhook adds for IRSA, and the emulator as STS.
    AWS_ROLE_ARN: APP_ROLE,
    AWS_WEB_IDENTITY_TOKEN_FILE: TOKEN_PATH,
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_STS: sts.url.replace(/\/\/[^:]+:/, "//host.containers.internal:"),
  };
  sidecarRun = startContainer({
    name,
    image: image.image,
    flags: [
      ...securityFlags(pod, sidecar),
      "--network",
      "podman",
      "--publish",
      `127.0.0.1::${metricsPort}`,
      "--volume",
      `${tmp.path("token")}:${TOKEN_PATH}:ro`,
      "--volume",
      `${tmp.path("aws")}:${dirname(credentialsPath)}`,
      ...envFlags(env),
    ],
    args: sidecar.args ?? [],
  });
  await untilLogged(sidecarRun, "metrics listening");
}, 900_000);

afterAll(async () => {
  await removeContainer(name);
  await sts?.close();
  await tmp?.cleanup();
});

const parseIni = (text: string) =>
  Object.fromEntries([...text.matchAll(/^(\w+)\s*=\s*(.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));

describe("credbridge serve from the image, as the IRSA manifest runs it", () => {
  it("answers /readyz through the published port once the first credentials are on disk", async () => {
    const address = await publishedAddress(name, `${metricsPort}/tcp`);
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    const res = await fetch(`http://${address}/readyz`);
    expect(res.status).toBe(200);
    expect(sts.calls.map((c) => c.action)).toEqual(["AssumeRoleWithWebIdentity", "AssumeRole"]);
  });

  it("runs node as PID 1 on the credbridge launcher, as uid 65532 with no capabilities and no privilege escalation", async () => {
    const one = await pidOne(name);
    expect(one.nsPids.at(-1)).toBe(1);
    expect(one.argv).toEqual([
      "/usr/local/bin/node",
      "--disable-sigusr1",
      "/usr/local/bin/credbridge",
      ...(sidecar.args ?? []),
    ]);
    expect(one.uid).toBe(sidecar.securityContext?.runAsUser);
    expect(BigInt(`0x${one.capEff}`)).toBe(0n);
    expect(one.noNewPrivs).toBe(true);
  });

  it("writes the file in the volume for the pod's group, and the AWS CLI signs with it as the registry's uid", async () => {
    const st = await stat(credentialsOnHost());
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).toEqual({
      uid: sidecar.securityContext?.runAsUser,
      gid: APP.gid,
      mode: Number.parseInt(manifestEnv.CREDBRIDGE_FILE_MODE!, 8),
    });
    const result = await run(
      AWS,
      ["sts", "get-caller-identity", "--endpoint-url", sts.url, "--output", "json", "--region", "us-east-1"],
      {
        ...APP,
        env: {
          PATH: process.env.PATH,
          HOME: "/nonexistent",
          AWS_SHARED_CREDENTIALS_FILE: credentialsOnHost(),
          AWS_CONFIG_FILE: "/nonexistent/config",
          AWS_PAGER: "",
        },
      },
    ).catch((e: Error) => {
      throw new Error(`${AWS} could not run (install Debian's awscli): ${e.message}`);
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).Arn).toMatch(/^arn:aws:sts::111122223333:assumed-role\/app\//);
    const signed = sts.calls.filter((c) => c.action === "GetCallerIdentity").at(-1)!;
    expect(signed.accessKeyId).toBe(parseIni(await readFile(credentialsOnHost(), "utf8")).aws_access_key_id);
  });

  it("runs `credbridge doctor` in the container, as the README's `kubectl exec … -c credbridge -- credbridge doctor` does", async () => {
    const doctor = await podmanExit(["exec", name, "credbridge", "doctor"]);
    expect(doctor.stdout).toMatch(/^source: web-identity /m);
    expect(doctor.stdout).toMatch(/^ {2}ok {3}self-assume: arn:aws:sts::111122223333:assumed-role\/app\//m);
    expect(doctor.stdout).toMatch(/^result: every step works$/m);
    expect(doctor.code, doctor.stderr).toBe(0);
  });

  it("opens no debugger on SIGUSR1: nothing in the pod can attach to the process that holds the credentials", async () => {
    // Node's default: SIGUSR1 starts the inspector on 127.0.0.1:9229, in the pod's network namespace.
    await podman(["kill", "--signal", "USR1", name]);
    // A refresh asked for after it, and finished, is the process having handled both signals.
    await podman(["kill", "--signal", "HUP", name]);
    await sidecarRun.waitFor((l) => l.msg === "credentials refreshed" && l.reason === "forced");
    const { pid } = await pidOne(name);
    const listening = readFileSync(`/proc/${pid}/net/tcp`, "utf8")
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[3] === "0A")
      .map((f) => Number.parseInt(f[1]!.split(":")[1]!, 16));
    expect(listening).toEqual([Number(metricsPort)]);
    expect(sidecarRun.lines.join("\n")).not.toContain("Debugger listening");
  });

  it("stops on SIGTERM to PID 1 within 5 s, exit 0, right after a SIGHUP refresh, the file whole", async () => {
    await podman(["kill", "--signal", "HUP", name]);
    const started = performance.now();
    await podman(["kill", "--signal", "TERM", name]);
    const exit = await sidecarRun.exited;
    const seconds = (performance.now() - started) / 1000;
    expect(exit.code).toBe(0);
    expect(seconds).toBeLessThan(5);
    const stopping = await sidecarRun.waitFor((l) => l.msg === "stopping");
    expect(stopping.signal).toBe("SIGTERM");
    const file = parseIni(await readFile(credentialsOnHost(), "utf8"));
    const session = sts.issued.find((s) => s.accessKeyId === file.aws_access_key_id);
    expect(session, "the file holds a session STS issued").toBeDefined();
    expect(file).toMatchObject({
      aws_secret_access_key: session!.secretAccessKey,
      aws_session_token: session!.sessionToken,
    });
  });
});
