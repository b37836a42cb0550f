/**
 * `credbridge webhook` from the image, run by podman as examples/kubernetes/
 * webhook/webhook.yaml runs it (its env, args and security context): the
 * serving certificate in a Secret-like volume mounted read-only, an
 * AdmissionReview answered over HTTPS through the published port, trusted
 * through the CA bundle alone; SIGTERM to PID 1.
 */
import { mutatePod } from "@credbridge/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCli } from "../support/cli.js";
import { makeCa, SERVICE_HOST, secretVolume } from "../support/pki.js";
import { tempDir } from "../support/tmp.js";
import { admissionReview, callWebhook, decodePatch, responseOf } from "../webhook/support/admission.js";
import { DEFAULTS, FIXTURES, readPod } from "../webhook/support/pods.js";
import {
  containerName,
  envFlags,
  publishedAddress,
  removeContainer,
  startContainer,
  untilLogged,
} from "./support/container.js";
import { type BuiltImage, podman, theImage } from "./support/image.js";
import { credbridgeContainer, envOf, podOf, securityFlags } from "./support/pod.js";

const pod = podOf("webhook/webhook.yaml");
const webhook = credbridgeContainer(pod);
const manifestEnv = envOf(webhook);
const port = manifestEnv.CREDBRIDGE_LISTEN!.split(":").at(-1)!;
const tlsDir = manifestEnv.CREDBRIDGE_TLS_CERT_FILE!.replace(/\/[^/]+$/, "");

let image: BuiltImage;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let ca: Awaited<ReturnType<typeof makeCa>>;
let run: RunningCli;
let hostPort: number;
const name = containerName("webhook");

beforeAll(async () => {
  image = await theImage();
  tmp = await tempDir("credbridge-image-webhook-");
  ca = await makeCa(tmp.path("ca"));
  const volume = await secretVolume(tmp.path("tls"));
  const serving = await ca.issue([SERVICE_HOST, "127.0.0.1"]);
  await volume.write({ "tls.crt": serving.cert, "tls.key": serving.key });
  run = startContainer({
    name,
    image: image.image,
    flags: [
      ...securityFlags(pod, webhook),
      "--network",
      "podman",
      "--publish",
      `127.0.0.1::${port}`,
      "--volume",
      `${tmp.path("tls")}:${tlsDir}:ro`,
      ...envFlags(manifestEnv),
    ],
    args: webhook.args ?? [],
  });
  await untilLogged(run, "webhook listening");
  hostPort = Number((await publishedAddress(name, `${port}/tcp`)).split(":").at(-1));
}, 900_000);

afterAll(async () => {
  await removeContainer(name);
  await tmp?.cleanup();
});

describe("credbridge webhook from the image, as webhook.yaml runs it", () => {
  it("answers an AdmissionReview over HTTPS with the patch mutatePod makes, injecting this image", async () => {
    const pod = readPod(`${FIXTURES}/harbor-registry-irsa.pod.yaml`);
    const review = admissionReview(pod);
    const answer = responseOf(await callWebhook(hostPort, ca.caBundle, JSON.stringify(review)));
    expect(answer.response).toMatchObject({ uid: review.request.uid, allowed: true, patchType: "JSONPatch" });
    expect(manifestEnv.CREDBRIDGE_IMAGE).toBe(image.name);
    const expected = mutatePod(pod, { ...DEFAULTS, image: image.name });
    expect(expected.kind).toBe("patch");
    expect(decodePatch(answer.response.patch)).toEqual(expected.kind === "patch" ? expected.patch : []);
  });

  it("stops on SIGTERM to PID 1 within 5 s, exit 0", async () => {
    const started = performance.now();
    await podman(["kill", "--signal", "TERM", name]);
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect((performance.now() - started) / 1000).toBeLessThan(5);
    await run.waitFor((l) => l.msg === "stopped");
  });
});
