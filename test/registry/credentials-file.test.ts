import { chmod, chown, mkdir, stat, writeFile } from "node:fs/promises";
import { mintWebIdentityToken } from "@credbridge/emulators";
import { afterEach, expect, it, vi } from "vitest";
import { cleanEnv, startCli } from "../support/cli.js";
import { APP_ROLE } from "../support/irsa.js";
import { tempDir } from "../support/tmp.js";
import { registryConfigFromExample, startRegistry } from "./support/registry.js";
import { MIN_REMAINING_SECONDS, pushPullAcrossRotations, SESSION_SECONDS } from "./support/rotations.js";
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
  const tokenFile = tmp.path("token");
  await writeFile(tokenFile, mintWebIdentityToken({ sub: "system:serviceaccount:harbor:harbor-registry" }));

  const credentialsFile = tmp.path("home", ".aws", "credentials");
  const credbridge = startCli(
    [
      "serve",
      "--self-assume",
      "--credentials-file",
      credentialsFile,
      "--file-owner",
      `${user.uid}:${user.gid}`,
      "--min-remaining",
      String(MIN_REMAINING_SECONDS),
    ],
    cleanEnv(tmp.dir, {
      AWS_ROLE_ARN: APP_ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_STS: world.sts.url,
    }),
  );
  cleanups.push(() => credbridge.stop());
  await credbridge.waitFor((l) => l.msg === "credentials refreshed");
  await vi.waitFor(() => stat(credentialsFile), { timeout: 5_000, interval: 50 });

  const registry = await startRegistry({
    configFile: tmp.path("config.yml"),
    config: await registryConfigFromExample("pod-identity", world.front.url, "127.0.0.1:0"),
    env: { PATH: "/usr/bin:/bin", HOME: home },
    uid: user.uid,
    gid: user.gid,
  });
  cleanups.push(() => registry.stop());

  const report = await pushPullAcrossRotations({
    path: "credentials file",
    requests: world.front.requests,
    registry: registry.address,
    workDir: tmp.path("images"),
  });
  expect(report.failures).toEqual([]);
  expect(report.digestMismatches).toBe(0);
  expect(report.signingKeys).toBeGreaterThanOrEqual(3);
  // Every signer is a session STS issued to credbridge: the registry used the file, nothing else.
  const issued = new Set(world.sts.issued.map((c) => c.accessKeyId));
  expect(world.front.requests.filter((r) => r.forwarded && !issued.has(r.accessKeyId!))).toEqual([]);
  expect(Object.keys(report.refused).filter((code) => code !== "ExpiredToken")).toEqual([]);
  expect(report.recoveredWithoutRestart).toBe(true);
  expect(registry.child.exitCode).toBeNull();
});
