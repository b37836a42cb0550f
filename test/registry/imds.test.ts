import { mkdir } from "node:fs/promises";
import { expect, it } from "vitest";
import { createNetworkNamespace, IMDS_ADDRESS } from "../support/netns.js";
import { makeOciImage } from "./support/oci-image.js";
import { registryConfigFromExample, registryEnv, startRegistry } from "./support/registry.js";
import { SESSION_SECONDS } from "./support/rotations.js";
import { startImdsSidecar } from "./support/sidecars.js";
import { pull, push } from "./support/skopeo.js";
import { expectSurvivesRotations, REGISTRY_TEST_TIMEOUT_MS, setStage, useCleanups } from "./support/stage.js";

const defer = useCleanups();

// Path 2: the IMDS example's recipe, executed. A network namespace gets
// 169.254.169.254/32 on its loopback (what the example's init container does);
// credbridge serves IMDS on that address and port 80; the registry, with no
// AWS_EC2_METADATA_SERVICE_ENDPOINT, asks the address old SDKs hard-code.
// STS and the S3 front are reached inside at 127.0.0.1 through a bridge.
it(
  "the registry on S3 through IMDS at 169.254.169.254:80 in a network namespace, across rotations",
  async () => {
    const { world, tmp } = await setStage(defer, "imds", { lifetimeSeconds: SESSION_SECONDS });
    // Fails the test, with the reason, when the namespace cannot be made.
    const netns = await createNetworkNamespace();
    defer(() => netns.close());
    const stsInside = await netns.expose(18080, world.sts.url, tmp.dir);
    const s3Inside = await netns.expose(18081, world.front.url, tmp.dir);

    const { cli: credbridge, url: imdsUrl } = await startImdsSidecar({
      stsUrl: stsInside,
      imds: `${IMDS_ADDRESS}:80`,
      dir: tmp.dir,
      wrap: netns.wrap,
    });
    defer(() => credbridge.stop());
    expect(imdsUrl).toBe(`http://${IMDS_ADDRESS}`);

    const home = tmp.path("home");
    await mkdir(home, { mode: 0o755 });
    const env = registryEnv(home);
    expect(env).not.toHaveProperty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const registry = await startRegistry({
      configFile: tmp.path("config.yml"),
      config: await registryConfigFromExample("imds", s3Inside, "127.0.0.1:5000"),
      env,
      place: netns,
    });
    defer(() => registry.stop());

    // Every signer is a session STS issued to credbridge: the registry used credbridge's output, nothing else.
    await expectSurvivesRotations({
      path: "IMDS (netns, 169.254.169.254:80)",
      world,
      registry,
      workDir: tmp.path("images"),
      place: netns,
      signers: () => world.sts.issued.map((c) => c.accessKeyId),
    });
  },
  REGISTRY_TEST_TIMEOUT_MS,
);

// The example's comment said the registry's SDK is hard-wired to
// 169.254.169.254. The S3 driver builds its EC2 role provider on a default
// aws-sdk-go session, which reads AWS_EC2_METADATA_SERVICE_ENDPOINT from
// v1.34.14 on: Debian's build (1.44) follows it to a loopback IMDS. Without
// the variable it would reach this host's 169.254.169.254, whose keys the S3
// front would refuse.
it("the registry follows AWS_EC2_METADATA_SERVICE_ENDPOINT to credbridge's IMDS on loopback", async () => {
  const { world, tmp } = await setStage(defer, "imds-endpoint");
  const { cli: credbridge, url: imdsUrl } = await startImdsSidecar({
    stsUrl: world.sts.url,
    imds: "127.0.0.1:0",
    dir: tmp.dir,
  });
  defer(() => credbridge.stop());
  const home = tmp.path("home");
  await mkdir(home, { mode: 0o755 });
  const registry = await startRegistry({
    configFile: tmp.path("config.yml"),
    config: await registryConfigFromExample("imds", world.front.url, "127.0.0.1:0"),
    env: registryEnv(home, { AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl }),
  });
  defer(() => registry.stop());

  const image = await makeOciImage(tmp.path("image"));
  const ref = `${registry.address}/endpoint/app:v1`;
  expect(await push(image.ref, ref)).toMatchObject({ ok: true, stderr: "" });
  expect((await pull(ref, `oci:${tmp.path("out")}:v1`)).ok).toBe(true);
  const issued = new Set(world.sts.issued.map((c) => c.accessKeyId));
  const signers = new Set(world.front.requests.map((r) => r.accessKeyId));
  expect(signers.size).toBeGreaterThan(0);
  expect([...signers].filter((key) => !issued.has(key!))).toEqual([]);
  expect(world.front.requests.filter((r) => !r.forwarded)).toEqual([]);
});
