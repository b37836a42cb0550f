import { chmod, chown, mkdir } from "node:fs/promises";
import { afterEach, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { startFileSidecar } from "./support/file-sidecar.js";
import { registryConfigFromExample, startRegistry } from "./support/registry.js";
import { pushPullAcrossRotations, SESSION_SECONDS } from "./support/rotations.js";
import { startS3World } from "./support/s3-world.js";
import { REGISTRY_USER, systemUser } from "./support/users.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Path 1: the seed's sidecar layout. credbridge (root here, like any sidecar
// with its own uid) keeps the registry user's ~/.aws/credentials fresh; the
// registry, as its own user with nothing but HOME, reads it through aws-sdk-go
// v1's SharedCredentialsProvider.
it("the registry on S3 through the credentials file credbridge keeps fresh, across rotations", async () => {
  const world = await startS3World({ lifetimeSeconds: SESSION_SECONDS });
  cleanups.push(() => world.close());
  const tmp = await tempDir("credbridge-registry-file-");
  cleanups.push(() => tmp.cleanup());
  await chmod(tmp.dir, 0o755);
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
  cleanups.push(() => credbridge.stop());

  const registry = await startRegistry({
    configFile: tmp.path("config.yml"),
    config: await registryConfigFromExample("irsa", world.front.url, "127.0.0.1:0"),
    env: { PATH: "/usr/bin:/bin", HOME: home },
    uid: user.uid,
    gid: user.gid,
  });
  cleanups.push(() => registry.stop());

  const report = await pushPullAcrossRotations({
    path: "credentials file",
    world,
    registry: registry.address,
    workDir: tmp.path("images"),
  });
  expect(report.failures).toEqual([]);
  expect(report.digestMismatches).toBe(0);
  expect([report.missingBlobs, report.partialBlobs]).toEqual([0, 0]);
  expect(report.signingKeys).toBeGreaterThanOrEqual(3);
  // Every signer is a session STS issued to credbridge: the registry used the file, nothing else.
  const issued = new Set(world.sts.issued.map((c) => c.accessKeyId));
  expect(world.front.requests.filter((r) => r.forwarded && !issued.has(r.accessKeyId!))).toEqual([]);
  expect(Object.keys(report.refused).filter((code) => code !== "ExpiredToken")).toEqual([]);
  expect(report.recoveredWithoutRestart).toBe(true);
  expect(registry.child.exitCode).toBeNull();
});
