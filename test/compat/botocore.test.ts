import { writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { boto3 } from "./support/clients.js";
import type { LineClient } from "./support/line-client.js";
import { containerStory, fileStory, imdsV1Story, imdsV2Story, processStory } from "./support/scenarios.js";
import { CONTAINER_TOKEN, type CompatWorld, compatWorld } from "./support/world.js";

// boto3 and botocore from Debian (python3-boto3, python3-botocore under
// /usr/bin/python3): one long-running Python process per path, one boto3
// Session whose default chain picks the path from the environment. botocore
// refreshes RefreshableCredentials 15 minutes before expiry (blocking from 10
// minutes), so the 4-minute sessions are due at once: container and process
// credentials refresh at the next use by botocore's own check. IMDS credentials
// are different: botocore stretches those that arrive with under 17–25 minutes
// left to 17–25 minutes from now, so it asks IMDS again only 2–10 minutes
// later; the IMDS tests move the clock botocore's credentials read 11 minutes
// ahead instead of waiting.

/** Past any stretched expiry's advisory window: 17–25 min stretched, 15 min window. */
const pastStretch = async (client: LineClient) => {
  await client.ask("warp 660");
};

let world: CompatWorld;
beforeEach(async () => {
  world = await compatWorld();
});
afterEach(() => world.close());

describe("botocore / boto3 (Debian)", () => {
  it("IMDSv2: InstanceMetadataProvider, stretched, then refreshed inside its advisory window", async () => {
    await imdsV2Story(world, boto3(world), { stretchesFirst: true, afterRotate: pastStretch });
  });

  it("IMDSv1: falls back when the token PUT is refused (403), and refreshes the same way", async () => {
    await imdsV1Story(world, boto3(world), { stretchesFirst: true, afterRotate: pastStretch });
  });

  it("container endpoint: ContainerProvider with AWS_CONTAINER_AUTHORIZATION_TOKEN, refreshed at the next use", async () => {
    await containerStory(world, boto3(world));
  });

  it("credentials file: read once per session; not re-read after ExpiredToken", async () => {
    await fileStory(world, boto3(world), { afterExpiredToken: "fails" });
  });

  it("credential_process: ProcessProvider re-runs the process inside its window", async () => {
    await processStory(world, boto3(world), { rerun: "window" });
  });

  it("EKS Pod Identity's environment as injected: the agent's address and the token file are not supported", async () => {
    const tokenFile = world.tmp.path("eks-pod-identity-token");
    await writeFile(tokenFile, CONTAINER_TOKEN);
    const { url } = await world.container();
    await world.first();

    // The agent's link-local address is not among the hosts this botocore allows.
    const agentAddress = boto3(world)({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    // On loopback, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE is not read: no Authorization is sent.
    const tokenFileOnly = boto3(world)({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    try {
      const [refused, unauthorized] = await Promise.all([
        agentAddress.send("get"),
        tokenFileOnly.send("get"),
      ]);
      expect(refused.ok).toBe(false);
      expect(refused.error).toMatch(/169\.254\.170\.23/);
      expect(unauthorized.ok).toBe(false);
      expect(world.served.map((r) => r.status)).toContain(401);
    } finally {
      await agentAddress.close();
      await tokenFileOnly.close();
    }
  });
});
