import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromPodIdentity, refreshing } from "@credbridge/core";
import { startPodIdentityAgent } from "@credbridge/emulators";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { APP_ROLE } from "../support/irsa.js";
import { jsV3 } from "./support/clients.js";
import { startImdsV1Proxy } from "./support/imds-v1-proxy.js";
import {
  containerStory,
  containerTokenFileCheck,
  fileStory,
  imdsV1Story,
  imdsV2Story,
  processStory,
} from "./support/scenarios.js";
import { type CompatWorld, compatWorld, expectIssued, SESSION_SECONDS } from "./support/world.js";

// AWS SDK for JavaScript v3 on every delivery path. In process, core's providers
// are an STSClient's `credentials`; elsewhere a long-running child process runs an
// STSClient on the default Node chain, and the environment picks the path.

let world: CompatWorld;
beforeEach(async () => {
  world = await compatWorld();
});
afterEach(() => world.close());

describe("AWS SDK for JavaScript v3", () => {
  it("in-process provider: core's fromWebIdentity in refreshing() as STSClient credentials, across a rotation", async () => {
    const client = new STSClient({ region: "us-east-1", endpoint: world.sts.url, credentials: world.engine });
    const first = await world.first();
    expectIssued(await client.config.credentials(), first);
    await client.send(new GetCallerIdentityCommand({}));
    expect(world.callerKeys()).toEqual([first.accessKeyId]);

    // The client memoizes until 5 minutes before expiry; 4-minute sessions are due at once.
    const second = await world.rotate();
    const now = await client.config.credentials();
    expectIssued(now, second);
    expect(now.expiration?.getTime()).toBe(second.expiration.getTime());
    await client.send(new GetCallerIdentityCommand({}));
    expect(world.callerKeys()).toEqual([first.accessKeyId, second.accessKeyId]);
  });

  it("in-process provider: core's fromPodIdentity against the Pod Identity agent, across a rotation", async () => {
    const agent = await startPodIdentityAgent({
      sts: world.sts,
      roleArn: APP_ROLE,
      token: "agent-token",
      lifetimeSeconds: SESSION_SECONDS,
    });
    try {
      const engine = refreshing(fromPodIdentity({ uri: agent.credentialsUrl, authToken: "agent-token" }), {
        advisoryWindowSeconds: 120,
        mandatoryWindowSeconds: 60,
        jitterSeconds: 0,
      });
      const client = new STSClient({ region: "us-east-1", endpoint: world.sts.url, credentials: engine });
      await client.send(new GetCallerIdentityCommand({}));
      const first = world.issued();
      expectIssued(await client.config.credentials(), first);

      await engine.refresh();
      const second = world.issued();
      expect(second.accessKeyId).not.toBe(first.accessKeyId);
      expectIssued(await client.config.credentials(), second);
      await client.send(new GetCallerIdentityCommand({}));
      expect(world.callerKeys()).toEqual([first.accessKeyId, second.accessKeyId]);
    } finally {
      await agent.close();
    }
  });

  it("IMDSv2: fromNodeProviderChain → instance metadata, refreshed by the client's 5-minute window", async () => {
    await imdsV2Story(world, jsV3(world), { refresh: "background" });
  });

  it("IMDSv1: falls back when the token PUT is refused (403), and refreshes the same way", async () => {
    await imdsV1Story(world, jsV3(world), { refresh: "background" });
  });

  it("IMDSv2-only shim: a client pushed to IMDSv1 gets no credentials", async () => {
    const { url } = await world.imds(true);
    const proxy = await startImdsV1Proxy(url);
    const client = jsV3(world)({ AWS_EC2_METADATA_SERVICE_ENDPOINT: proxy.url });
    try {
      await world.first();
      const reply = await client.send("get");
      expect(reply.ok).toBe(false);
      expect(proxy.seen.filter((r) => r.method === "GET").map((r) => r.status)).toContain(401);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it("container endpoint: AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN, refreshed", async () => {
    await containerStory(world, jsV3(world), { refresh: "background" });
  });

  it("container endpoint with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE only, as EKS Pod Identity sets it", async () => {
    await containerTokenFileCheck(world, jsV3(world));
  });

  it("credentials file: read once; not re-read even after ExpiredToken", async () => {
    await fileStory(world, jsV3(world), { afterExpiredToken: "fails" });
  });

  it("credential_process: re-run inside the 5-minute window, each run a new session", async () => {
    await processStory(world, jsV3(world), { rerun: "window" });
  });
});
