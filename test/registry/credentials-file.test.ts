import { it } from "vitest";
import { REGISTRY_BUILDS } from "./support/builds.js";
import { fileStage } from "./support/paths.js";
import { registryConfigFromExample, registryEnv, startRegistry } from "./support/registry.js";
import { SESSION_SECONDS } from "./support/rotations.js";
import { expectSurvivesRotations, REGISTRY_TEST_TIMEOUT_MS, setStage } from "./support/stage.js";

// Path 1: the seed's sidecar layout. credbridge keeps the registry user's
// ~/.aws/credentials fresh; the registry, as its own user with nothing but
// HOME, reads it through aws-sdk-go v1's SharedCredentialsProvider, which it
// re-reads only after an ExpiredToken answer made the SDK Expire() it: one
// refused, retried request per rotation, in both builds (the provider's code
// is the same in 1.15.11 and 1.44).
it.concurrent.for(REGISTRY_BUILDS)(
  "$name: the registry on S3 through the credentials file credbridge keeps fresh, across rotations",
  { timeout: REGISTRY_TEST_TIMEOUT_MS },
  async (build, ctx) => {
    const stage = await setStage(ctx, "file", { lifetimeSeconds: SESSION_SECONDS });
    const { world, tmp, defer } = stage;
    const { home, user } = await fileStage(stage);
    const registry = await startRegistry({
      build,
      configFile: tmp.path("config.yml"),
      config: await registryConfigFromExample("irsa", world.front.url, "127.0.0.1:0"),
      env: registryEnv(home),
      uid: user.uid,
      gid: user.gid,
    });
    defer(() => registry.stop());

    // Every signer is a session STS issued to credbridge: the registry used credbridge's output, nothing else.
    await expectSurvivesRotations({
      path: "credentials file",
      build,
      world,
      registry,
      workDir: tmp.path("images"),
      signers: () => world.sts.issued.map((c) => c.accessKeyId),
    });
  },
);
