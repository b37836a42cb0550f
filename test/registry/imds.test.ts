import { chmod, mkdir, writeFile } from "node:fs/promises";
import { mintWebIdentityToken } from "@credbridge/emulators";
import { expect, it } from "vitest";
import { cleanEnv, startCli } from "../support/cli.js";
import { APP_ROLE } from "../support/irsa.js";
import { createNetworkNamespace, IMDS_ADDRESS } from "./support/netns.js";
import { registryConfigFromExample, startRegistry } from "./support/registry.js";
import { MIN_REMAINING_SECONDS, pushPullAcrossRotations, SESSION_SECONDS } from "./support/rotations.js";
import { expectSurvivedRotations, setStage, useCleanups } from "./support/stage.js";

const defer = useCleanups();

// Path 2: the IMDS example's recipe, executed. A network namespace gets
// 169.254.169.254/32 on its loopback (what the example's init container does);
// credbridge serves IMDS on that address and port 80; the registry, with no
// AWS_EC2_METADATA_SERVICE_ENDPOINT, asks the address old SDKs hard-code.
// STS and the S3 front are reached inside at 127.0.0.1 through a bridge.
it("the registry on S3 through IMDS at 169.254.169.254:80 in a network namespace, across rotations", async () => {
  const { world, tmp } = await setStage(defer, "imds", { lifetimeSeconds: SESSION_SECONDS });
  // Fails the test, with the reason, when the namespace cannot be made.
  const netns = await createNetworkNamespace();
  defer(() => netns.close());
  const stsInside = await netns.expose(18080, world.sts.url, tmp.dir);
  const s3Inside = await netns.expose(18081, world.front.url, tmp.dir);

  const tokenFile = tmp.path("token");
  await writeFile(tokenFile, mintWebIdentityToken({ sub: "system:serviceaccount:harbor:harbor-registry" }));
  const credbridge = startCli(
    [
      "serve",
      "--source",
      "web-identity",
      "--imds",
      `${IMDS_ADDRESS}:80`,
      "--min-remaining",
      String(MIN_REMAINING_SECONDS),
    ],
    cleanEnv(tmp.dir, {
      AWS_ROLE_ARN: APP_ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_STS: stsInside,
    }),
    netns.wrap,
  );
  defer(() => credbridge.stop());
  expect((await credbridge.waitFor((l) => l.msg === "IMDS listening")).url).toBe(`http://${IMDS_ADDRESS}`);

  const home = tmp.path("home");
  await mkdir(home, { mode: 0o755 });
  await chmod(tmp.dir, 0o755);
  const env = { PATH: "/usr/bin:/bin", HOME: home };
  expect(env).not.toHaveProperty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  const registry = await startRegistry({
    configFile: tmp.path("config.yml"),
    config: await registryConfigFromExample("imds", s3Inside, "127.0.0.1:5000"),
    env,
    place: netns,
  });
  defer(() => registry.stop());

  const report = await pushPullAcrossRotations({
    path: "IMDS (netns, 169.254.169.254:80)",
    world,
    registry: registry.address,
    workDir: tmp.path("images"),
    place: netns,
  });
  // Every signer is a session STS issued to credbridge: the registry used credbridge's output, nothing else.
  expectSurvivedRotations(
    report,
    world,
    registry,
    world.sts.issued.map((c) => c.accessKeyId),
  );
});
