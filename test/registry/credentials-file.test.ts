import { chown, mkdir } from "node:fs/promises";
import { it } from "vitest";
import { REGISTRY_BUILDS } from "./support/builds.js";
import { registryConfigFromExample, registryEnv, startRegistry } from "./support/registry.js";
import { SESSION_SECONDS } from "./support/rotations.js";
import { startFileSidecar } from "./support/sidecars.js";
import { expectSurvivesRotations, REGISTRY_TEST_TIMEOUT_MS, setStage } from "./support/stage.js";
import { REGISTRY_USER, systemUser } from "./support/users.js";

// Path 1: the seed's sidecar layout. credbridge (root here, like any sidecar
// with its own uid) keeps the registry user's ~/.aws/credentials fresh; the
// registry, as its own user with nothing but HOME, reads it through aws-sdk-go
// v1's SharedCredentialsProvider, which it re-reads only after an
// ExpiredToken answer made the SDK Expire() it: one refused, retried request
// per rotation, in both builds (the provider's code is the same in 1.15.11 and 1.44).
it.concurrent.for(REGISTRY_BUILDS)(
  "$name: the registry on S3 through the credentials file credbridge keeps fresh, across rotations",
  { timeout: REGISTRY_TEST_TIMEOUT_MS },
  async (build, ctx) => {
    const { world, tmp, defer } = await setStage(ctx, "file", { lifetimeSeconds: SESSION_SECONDS });
    const user = await systemUser(REGISTRY_USER);
    const home = tmp.path("home");
    await mkdir(tmp.path("home", ".aws"), { recursive: true, mode: 0o700 });
    await chown(home, user.uid, user.gid);
    await chown(tmp.path("home", ".aws"), user.uid, user.gid);
    const credentialsFile = tmp.path("home", ".aws", "credentials");
    const credbridge = await startFileSidecar({
      stsUrl: world.sts.url,
      credentialsFile,
      dir: tmp.dir,
      fileOwner: `${user.uid}:${user.gid}`,
    });
    defer(() => credbridge.stop());

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
