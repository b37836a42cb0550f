import { writeFile } from "node:fs/promises";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createNetworkNamespace, IMDS_ADDRESS, type NetworkNamespace } from "../support/netns.js";
import { goV1 } from "./support/clients.js";
import { type BuiltCredcheck, buildCredcheck, DEBIAN_SDK, VENDORED_SDK } from "./support/go-build.js";
import { containerStory, fileStory, imdsV1Story, imdsV2Story, processStory } from "./support/scenarios.js";
import { CONTAINER_TOKEN, type CompatWorld, compatWorld } from "./support/world.js";

// aws-sdk-go v1, the SDK family of the registry behind Harbor, twice:
// Debian's (golang-github-aws-aws-sdk-go-dev, 1.44) and the 1.15.11 that
// distribution v2.8.3 vendors, which is what Harbor 2.x's registry runs.
// go/src/credcheck is built offline in GOPATH mode against each and run as one
// long-running process per path. Its `session` mode is session.NewSession's
// credential chain; the IMDS and container providers in it refresh 5 minutes
// before expiry (aws/defaults/defaults.go in both), so the 4-minute sessions
// are due at the next use.

/** The session chain's Credentials cannot report an expiration (1.44: not passed through its ChainProvider; 1.15.11: no ExpiresAt). */
const CHAIN = { reportsExpiration: false };

const SDKS = [
  { name: "Debian", tree: DEBIAN_SDK, modern: true },
  { name: "1.15.11 vendored in distribution v2.8.3 (Harbor's registry)", tree: VENDORED_SDK, modern: false },
] as const;

let world: CompatWorld;
beforeEach(async () => {
  world = await compatWorld();
});
afterEach(() => world.close());

/**
 * A network namespace for an SDK that only knows 169.254.169.254: STS bridged
 * in, and `imds` (a URL here) served at 169.254.169.254:80 inside. Without
 * `imdsAddress` the namespace has no 169.254.169.254 at all.
 */
const namespaceFor = async (options: { imdsAddress: boolean; imds?: string }) => {
  const netns: NetworkNamespace = await createNetworkNamespace({ imdsAddress: options.imdsAddress });
  const stsUrl = await netns.expose(18080, world.sts.url, world.tmp.dir);
  if (options.imds !== undefined) await netns.expose(80, options.imds, world.tmp.dir, IMDS_ADDRESS);
  return { place: netns, netns, stsUrl };
};

/** The client, started inside the namespace, resolves nothing: its EC2 role provider found no IMDS that answers it. Closes both. */
const expectNoImdsCredentials = async (
  binary: string,
  inside: Awaited<ReturnType<typeof namespaceFor>>,
  env: Record<string, string>,
) => {
  const client = goV1(world, binary, "session", inside)(env);
  try {
    const got = await client.send("get");
    expect(got.ok).toBe(false);
    expect(got.error).toMatch(/EC2RoleRequestError/);
  } finally {
    await client.close();
    await inside.netns.close();
  }
};

describe.each(SDKS)("aws-sdk-go v1 $name", ({ tree, modern }) => {
  let go: BuiltCredcheck;
  beforeAll(async () => {
    go = await buildCredcheck(tree);
    // Cold (empty build cache) this compiles the SDK: tens of seconds on two cores; cached, about a second.
    console.info(`credcheck built against aws-sdk-go ${go.sdkVersion} in ${go.buildMs} ms`);
  }, 600_000);

  const version = (v: string) => {
    const [major, minor, patch] = v.split(".").map(Number) as [number, number, number];
    return major * 1e6 + minor * 1e3 + patch;
  };

  it(
    modern
      ? "is the SDK Debian ships, new enough for AWS_EC2_METADATA_SERVICE_ENDPOINT (v1.34.14) and IMDSv2 (v1.25.38)"
      : "is 1.15.11, older than IMDSv2 (v1.25.38) and AWS_EC2_METADATA_SERVICE_ENDPOINT (v1.34.14)",
    async () => {
      const client = goV1(world, go.binary)({});
      try {
        const { versions } = await client.ready;
        expect(versions?.["aws-sdk-go"]).toBe(go.sdkVersion);
        if (modern) expect(version(go.sdkVersion)).toBeGreaterThanOrEqual(version("1.34.14"));
        else expect(go.sdkVersion).toBe("1.15.11");
      } finally {
        await client.close();
      }
    },
  );

  if (modern) {
    it("IMDSv2: session chain → EC2RoleProvider via AWS_EC2_METADATA_SERVICE_ENDPOINT, refreshed in its 5-minute window", async () => {
      await imdsV2Story(world, goV1(world, go.binary), CHAIN);
    });

    it("IMDSv1: falls back when the token PUT is refused (403), and refreshes the same way", async () => {
      await imdsV1Story(world, goV1(world, go.binary), CHAIN);
    });
  } else {
    it("IMDSv2-only at 169.254.169.254: asks no token, so every read is refused (401) and it gets nothing", async () => {
      const { url } = await world.imds(true);
      await world.first();
      const inside = await namespaceFor({ imdsAddress: true, imds: url });
      await expectNoImdsCredentials(go.binary, inside, { AWS_EC2_METADATA_DISABLED: "false" });
      expect(world.served.length).toBeGreaterThan(0);
      expect(world.served.filter((r) => r.status !== 401 || r.method !== "GET")).toEqual([]);
    });

    it("IMDSv1 at 169.254.169.254:80 (the only address it knows): token-less reads from the start, refreshed in its 5-minute window", async () => {
      const inside = await namespaceFor({ imdsAddress: true });
      try {
        await imdsV1Story(world, goV1(world, go.binary, "session", inside), {
          ...CHAIN,
          asksToken: false,
          reach: async (url) => {
            await inside.netns.expose(80, url, world.tmp.dir, IMDS_ADDRESS);
            return { AWS_EC2_METADATA_DISABLED: "false" };
          },
        });
      } finally {
        await inside.netns.close();
      }
    });

    it("ignores AWS_EC2_METADATA_SERVICE_ENDPOINT: with credbridge's IMDS on loopback and no 169.254.169.254, it never asks it", async () => {
      const { url } = await world.imds(false);
      await world.first();
      const inside = await namespaceFor({ imdsAddress: false });
      const loopback = await inside.netns.expose(18090, url, world.tmp.dir);
      await expectNoImdsCredentials(go.binary, inside, { AWS_EC2_METADATA_SERVICE_ENDPOINT: loopback });
      expect(world.served).toEqual([]);
    });
  }

  if (modern) {
    it("container endpoint: session chain → endpointcreds with AWS_CONTAINER_AUTHORIZATION_TOKEN, refreshed", async () => {
      await containerStory(world, goV1(world, go.binary), CHAIN);
    });
  } else {
    it("container endpoint: sends no Authorization (it knows no AWS_CONTAINER_AUTHORIZATION_TOKEN), so credbridge refuses it (401)", async () => {
      const { url } = await world.container();
      await world.first();
      const client = goV1(
        world,
        go.binary,
      )({ AWS_CONTAINER_CREDENTIALS_FULL_URI: url, AWS_CONTAINER_AUTHORIZATION_TOKEN: CONTAINER_TOKEN });
      try {
        expect((await client.send("get")).ok).toBe(false);
      } finally {
        await client.close();
      }
      expect(world.served.map((r) => r.status)).toEqual([401]);
    });
  }

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

  if (modern) {
    it("credential_process (AWS_SDK_LOAD_CONFIG=1): no expiry window; re-run after ExpiredToken", async () => {
      await processStory(world, goV1(world, go.binary), { rerun: "expired-token" });
    });
  } else {
    it("credential_process (AWS_SDK_LOAD_CONFIG=1): not supported, the process never runs", async () => {
      const config = await world.processConfig();
      const client = goV1(world, go.binary)({ AWS_CONFIG_FILE: config, AWS_SDK_LOAD_CONFIG: "1" });
      try {
        const got = await client.send("get");
        expect(got.ok).toBe(false);
        expect(got.error).toMatch(/NoCredentialProviders/);
      } finally {
        await client.close();
      }
      // `credbridge process` would have called STS.
      expect(world.sts.issued).toEqual([]);
    });
  }
});
