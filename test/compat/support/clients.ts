import { fileURLToPath } from "node:url";
import type { Place } from "../../support/place.js";
import { type LineClient, startLineClient } from "./line-client.js";
import type { StartClient } from "./scenarios.js";
import type { CompatWorld } from "./world.js";

const script = (name: string) => fileURLToPath(new URL(`../clients/${name}`, import.meta.url));

/** Debian's interpreter, not whatever `python3` is first on PATH: the packages under test are Debian's. */
export const DEBIAN_PYTHON = "/usr/bin/python3";

/** What a client needs of a world: its environment and the STS it calls. */
export type ClientWorld = Pick<CompatWorld, "env" | "sts">;

const withSts = (world: ClientWorld, env: Record<string, string>, extra: Record<string, string> = {}) =>
  world.env({ ...env, ...extra, CREDCHECK_STS_ENDPOINT: world.sts.url });

/** AWS SDK for JavaScript v3: STSClient on the default Node credential chain (clients/js-v3.cjs). */
export const jsV3 =
  (world: ClientWorld): StartClient =>
  (env): LineClient =>
    startLineClient(
      process.execPath,
      [script("js-v3.cjs")],
      withSts(world, env),
      "run pnpm install: @aws-sdk/client-sts and @aws-sdk/credential-providers are test devDependencies",
    );

/**
 * aws-sdk v2: the default CredentialProviderChain (clients/js-v2.cjs).
 * `expiryWindow` replaces v2's 15-second refresh window, in seconds.
 */
export const jsV2 =
  (world: ClientWorld, options: { expiryWindow?: number } = {}): StartClient =>
  (env): LineClient =>
    startLineClient(
      process.execPath,
      [script("js-v2.cjs")],
      withSts(
        world,
        env,
        options.expiryWindow === undefined ? {} : { CREDCHECK_EXPIRY_WINDOW: String(options.expiryWindow) },
      ),
      "run pnpm install: aws-sdk is a test devDependency",
    );

/** boto3 + botocore from Debian under /usr/bin/python3 (clients/boto3_client.py). */
export const boto3 =
  (world: ClientWorld): StartClient =>
  (env): LineClient =>
    startLineClient(
      DEBIAN_PYTHON,
      [script("boto3_client.py")],
      withSts(world, env),
      "install Debian's python3-boto3 and python3-botocore",
    );

/**
 * aws-sdk-go v1, the credcheck program built from go/src/credcheck (see
 * go-build.ts). In a network namespace (`place`), `stsUrl` is where STS is
 * reached from inside it.
 */
export const goV1 =
  (
    world: ClientWorld,
    binary: string,
    mode: "session" | "shared-file" = "session",
    inside: { place: Place; stsUrl: string } | undefined = undefined,
  ): StartClient =>
  (env): LineClient =>
    startLineClient(
      binary,
      [mode],
      { ...withSts(world, env), ...(inside ? { CREDCHECK_STS_ENDPOINT: inside.stsUrl } : {}) },
      "install Debian's golang-go and golang-github-aws-aws-sdk-go-dev",
      inside?.place,
    );
