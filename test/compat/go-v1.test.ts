import { writeFile } from "node:fs/promises";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { goV1 } from "./support/clients.js";
import { type BuiltCredcheck, buildCredcheck } from "./support/go-build.js";
import { containerStory, fileStory, imdsV1Story, imdsV2Story, processStory } from "./support/scenarios.js";
import { CONTAINER_TOKEN, type CompatWorld, compatWorld } from "./support/world.js";

// aws-sdk-go v1 from Debian (golang-github-aws-aws-sdk-go-dev), the SDK family
// of the registry behind Harbor: go/src/credcheck, built offline in GOPATH mode
// with Debian's Go, run as one long-running process per path. Its `session`
// mode is session.NewSession's credential chain, which the registry's s3-aws
// driver uses; the IMDS and container providers in it refresh 5 minutes before
// expiry, so the 4-minute sessions are due at the next use.

/** The session chain's Credentials cannot report an expiration (ExpiresAt is not passed through its ChainProvider). */
const CHAIN = { reportsExpiration: false };

let go: BuiltCredcheck;
beforeAll(async () => {
  go = await buildCredcheck();
  // Cold (empty build cache) this compiles the SDK: tens of seconds on two cores; cached, about a second.
  console.info(`credcheck built against aws-sdk-go ${go.sdkVersion} in ${go.buildMs} ms`);
}, 300_000);

let world: CompatWorld;
beforeEach(async () => {
  world = await compatWorld();
});
afterEach(() => world.close());

describe("aws-sdk-go v1 (Debian)", () => {
  it("is the SDK Debian ships, new enough for AWS_EC2_METADATA_SERVICE_ENDPOINT (v1.34.14) and IMDSv2 (v1.25.38)", async () => {
    const client = goV1(world, go.binary)({});
    try {
      const { versions } = await client.ready;
      expect(versions?.["aws-sdk-go"]).toBe(go.sdkVersion);
      const [major, minor, patch] = go.sdkVersion.split(".").map(Number) as [number, number, number];
      expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(1 * 1e6 + 34 * 1e3 + 14);
    } finally {
      await client.close();
    }
  });

  it("IMDSv2: session chain → EC2RoleProvider via AWS_EC2_METADATA_SERVICE_ENDPOINT, refreshed in its 5-minute window", async () => {
    await imdsV2Story(world, goV1(world, go.binary), CHAIN);
  });

  it("IMDSv1: falls back when the token PUT is refused (403), and refreshes the same way", async () => {
    await imdsV1Story(world, goV1(world, go.binary), CHAIN);
  });

  it("container endpoint: session chain → endpointcreds with AWS_CONTAINER_AUTHORIZATION_TOKEN, refreshed", async () => {
    await containerStory(world, goV1(world, go.binary), CHAIN);
  });

  it("EKS Pod Identity's environment as injected: the agent's address and the token file are not supported", async () => {
    const tokenFile = world.tmp.path("eks-pod-identity-token");
    await writeFile(tokenFile, CONTAINER_TOKEN);
    const { url } = await world.container();
    await world.first();
    const agentAddress = goV1(
      world,
      go.binary,
    )({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    const tokenFileOnly = goV1(
      world,
      go.binary,
    )({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    try {
      const [refused, unauthorized] = await Promise.all([
        agentAddress.send("get"),
        tokenFileOnly.send("get"),
      ]);
      expect(refused.ok).toBe(false);
      expect(refused.error).toMatch(/only loopback hosts are allowed/);
      expect(unauthorized.ok).toBe(false);
      expect(world.served.map((r) => r.status)).toContain(401);
    } finally {
      await agentAddress.close();
      await tokenFileOnly.close();
    }
  });

  it("credentials file through session.NewSession: read once into static credentials; ExpiredToken does not re-read it", async () => {
    await fileStory(world, goV1(world, go.binary, "session"), { afterExpiredToken: "fails" });
  });

  it("credentials file through credentials.NewSharedCredentials: re-read after ExpiredToken (the SDK expires them and retries)", async () => {
    await fileStory(world, goV1(world, go.binary, "shared-file"), { afterExpiredToken: "rereads" });
  });

  it("credential_process (AWS_SDK_LOAD_CONFIG=1): no expiry window; re-run after ExpiredToken", async () => {
    await processStory(world, goV1(world, go.binary), { rerun: "expired-token" });
  });
});
