import { chmod } from "node:fs/promises";
import { permissionPolicy } from "@credbridge/cli";
import type { StartStsEmulatorOptions } from "@credbridge/emulators";
import { expect, type TestContext } from "vitest";
import type { Place } from "../../support/place.js";
import { tempDir } from "../../support/tmp.js";
import type { RegistryBuild } from "./builds.js";
import type { RunningRegistry } from "./registry.js";
import { pushPullAcrossRotations, type RotationReport } from "./rotations.js";
import { deniedRequests } from "./s3-policy.js";
import { BUCKET, type S3World, startS3World } from "./s3-world.js";

type Cleanup = () => Promise<unknown>;

/**
 * A rotation test pushes for about two session lifetimes (~15 s) after a few
 * seconds of set-up, and the first test of a fresh machine builds Harbor's
 * registry (~30–60 s); on a loaded machine moto's start-up and every copy
 * slow down, so these tests get more than the suite's default 60 s.
 */
export const REGISTRY_TEST_TIMEOUT_MS = 180_000;

/**
 * Undoes, last first, everything one test set up, when that test finishes:
 * per test, so the builds' tests can run concurrently. Returns `defer`: hand
 * it each cleanup as soon as the thing exists.
 */
export const useCleanups = (ctx: Pick<TestContext, "onTestFinished">): ((cleanup: Cleanup) => void) => {
  const cleanups: Cleanup[] = [];
  ctx.onTestFinished(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
};

/**
 * The S3 world and a scratch directory others may traverse (the registry runs
 * as its own user in some tests), both cleaned up after the test, and the
 * test's `defer`.
 */
export const setStage = async (
  ctx: Pick<TestContext, "onTestFinished">,
  name: string,
  sts: StartStsEmulatorOptions = {},
) => {
  const defer = useCleanups(ctx);
  const world: S3World = await startS3World(sts);
  defer(() => world.close());
  const tmp = await tempDir(`credbridge-registry-${name}-`);
  defer(() => tmp.cleanup());
  await chmod(tmp.dir, 0o755);
  return { world, tmp, defer };
};

/** What `setStage` set up for one test. */
export type Stage = Awaited<ReturnType<typeof setStage>>;

/**
 * Every request that reached the S3 front came from this build: aws-sdk-go
 * names its version in the User-Agent, so a test cannot pass on the other binary.
 */
export const expectSignedByBuild = (world: S3World, build: RegistryBuild) => {
  const agents = new Set(world.front.requests.map((r) => /aws-sdk-go\/[0-9.]+/.exec(r.userAgent ?? "")?.[0]));
  expect([...agents]).toEqual([`aws-sdk-go/${build.sdkVersion}`]);
};

/**
 * Every S3 request the registry sent is one the role's permission policy
 * allows: what `credbridge permission-policy --s3-bucket` prints for the test's
 * bucket (examples/iam/registry-s3-permission-policy.json), least privilege
 * checked against what the registry really calls.
 */
export const expectAllowedByPermissionPolicy = (world: S3World) => {
  const seen = new Map<string, number>();
  for (const r of world.front.requests) seen.set(r.operation, (seen.get(r.operation) ?? 0) + 1);
  console.log(`registry: S3 operations ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  expect(deniedRequests(permissionPolicy({ bucket: BUCKET }), world.front.requests)).toEqual([]);
};

/**
 * Pushes and pulls across rotations, then checks what every working path must
 * show: no failed copy, every blob intact in the bucket, at least two
 * rotations, every signer one of `signers()` (the sessions credbridge was
 * handed, read once the run is over), no refusal but ExpiredToken, every
 * request one the role's S3 permissions allow, and the same registry process
 * at the end.
 */
export const expectSurvivesRotations = async (options: {
  path: string;
  build: RegistryBuild;
  world: S3World;
  registry: RunningRegistry;
  workDir: string;
  place?: Place;
  signers: () => Iterable<string>;
}): Promise<RotationReport> => {
  const { world, registry } = options;
  const report = await pushPullAcrossRotations({
    path: options.path,
    build: options.build.name,
    world,
    registry: registry.address,
    workDir: options.workDir,
    ...(options.place === undefined ? {} : { place: options.place }),
  });
  expect(report.failures, registry.log().slice(-3000)).toEqual([]);
  expect(report.digestMismatches).toBe(0);
  expect([report.missingBlobs, report.partialBlobs]).toEqual([0, 0]);
  expect(report.signingKeys).toBeGreaterThanOrEqual(3);
  const known = new Set(options.signers());
  expect(world.front.requests.filter((r) => r.forwarded && !known.has(r.accessKeyId!))).toEqual([]);
  expect(Object.keys(report.refused).filter((code) => code !== "ExpiredToken")).toEqual([]);
  expect(report.recoveredWithoutRestart).toBe(true);
  expect(registry.child.exitCode).toBeNull();
  expectSignedByBuild(world, options.build);
  expectAllowedByPermissionPolicy(world);
  return report;
};
