import { chmod, mkdir, writeFile } from "node:fs/promises";
import { mintWebIdentityToken } from "@credbridge/emulators";
import { afterEach, expect, it } from "vitest";
import { cleanEnv, startCli } from "../support/cli.js";
import { APP_ROLE } from "../support/irsa.js";
import { tempDir } from "../support/tmp.js";
import { createNetworkNamespace, IMDS_ADDRESS } from "./support/netns.js";
import { registryConfigFromExample, startRegistry } from "./support/registry.js";
import { MIN_REMAINING_SECONDS, pushPullAcrossRotations, SESSION_SECONDS } from "./support/rotations.js";
import { startS3World } from "./support/s3-world.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Path 2: the IMDS example's recipe, executed. A network namespace gets
// 169.254.169.254/32 on its loopback (what the example's init container does);
// credbridge serves IMDS on that address and port 80; the registry, with no
// AWS_EC2_METADATA_SERVICE_ENDPOINT, asks the address old SDKs hard-code.
// STS and the S3 front are reached inside at 127.0.0.1 through a bridge.
it("the registry on S3 through IMDS at 169.254.169.254:80 in a network namespace, across rotations", async () => {
  const world = await startS3World({ lifetimeSeconds: SESSION_SECONDS });
  cleanups.push(() => world.close());
  const tmp = await tempDir("credbridge-registry-imds-");
  cleanups.push(() => tmp.cleanup());
  // Fails the test, with the reason, when the namespace cannot be made.
  const netns = await createNetworkNamespace();
  cleanups.push(() => netns.close());
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
  cleanups.push(() => credbridge.stop());
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
  cleanups.push(() => registry.stop());

  const report = await pushPullAcrossRotations({
    path: "IMDS (netns, 169.254.169.254:80)",
    world,
    registry: registry.address,
    workDir: tmp.path("images"),
    place: netns,
  });
  expect(report.failures).toEqual([]);
  expect(report.digestMismatches).toBe(0);
  expect([report.missingBlobs, report.partialBlobs]).toEqual([0, 0]);
  expect(report.signingKeys).toBeGreaterThanOrEqual(3);
  const issued = new Set(world.sts.issued.map((c) => c.accessKeyId));
  expect(world.front.requests.filter((r) => r.forwarded && !issued.has(r.accessKeyId!))).toEqual([]);
  expect(Object.keys(report.refused).filter((code) => code !== "ExpiredToken")).toEqual([]);
  expect(report.recoveredWithoutRestart).toBe(true);
  expect(registry.child.exitCode).toBeNull();
});
