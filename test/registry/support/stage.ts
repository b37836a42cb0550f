import { chmod } from "node:fs/promises";
import type { StartStsEmulatorOptions } from "@credbridge/emulators";
import { afterEach, expect } from "vitest";
import type { Place } from "../../support/place.js";
import { tempDir } from "../../support/tmp.js";
import type { RunningRegistry } from "./registry.js";
import { pushPullAcrossRotations, type RotationReport } from "./rotations.js";
import { type S3World, startS3World } from "./s3-world.js";

type Cleanup = () => Promise<unknown>;

/**
 * A rotation test pushes for about two session lifetimes (~15 s) after a few
 * seconds of set-up; on a loaded machine moto's start-up and every copy slow
 * down, so these tests get more than the suite's default 60 s.
 */
export const REGISTRY_TEST_TIMEOUT_MS = 90_000;

/**
 * Registers an afterEach that undoes, last first, everything a test set up.
 * Returns `defer`: hand it each cleanup as soon as the thing exists.
 */
export const useCleanups = (): ((cleanup: Cleanup) => void) => {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
};

/**
 * The S3 world and a scratch directory others may traverse (the registry runs
 * as its own user in some tests), both cleaned up after the test.
 */
export const setStage = async (
  defer: (cleanup: Cleanup) => void,
  name: string,
  sts: StartStsEmulatorOptions = {},
) => {
  const world: S3World = await startS3World(sts);
  defer(() => world.close());
  const tmp = await tempDir(`credbridge-registry-${name}-`);
  defer(() => tmp.cleanup());
  await chmod(tmp.dir, 0o755);
  return { world, tmp };
};

/**
 * Pushes and pulls across rotations, then checks what every working path must
 * show: no failed copy, every blob intact in the bucket, at least two
 * rotations, every signer one of `signers()` (the sessions credbridge was
 * handed, read once the run is over), no refusal but ExpiredToken, and the
 * same registry process at the end.
 */
export const expectSurvivesRotations = async (options: {
  path: string;
  world: S3World;
  registry: RunningRegistry;
  workDir: string;
  place?: Place;
  signers: () => Iterable<string>;
}): Promise<RotationReport> => {
  const { world, registry } = options;
  const report = await pushPullAcrossRotations({
    path: options.path,
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
  return report;
};
