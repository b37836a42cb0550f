import { mkdir } from "node:fs/promises";
import { POD_IDENTITY_CREDENTIALS_PATH, startPodIdentityAgent } from "@credbridge/emulators";
import { expect, it } from "vitest";
import { APP_ROLE } from "../support/irsa.js";
import { createNetworkNamespace } from "../support/netns.js";
import { fetchIn } from "../support/place.js";
import { REGISTRY_BUILDS } from "./support/builds.js";
import { makeOciImage } from "./support/oci-image.js";
import { registryConfigFromExample, registryEnv, startRegistry } from "./support/registry.js";
import { push } from "./support/skopeo.js";
import { REGISTRY_TEST_TIMEOUT_MS, setStage } from "./support/stage.js";

// Path 4, a negative result users need: distribution 2.8's S3 driver builds its
// own chain (static keys, environment, shared file, EC2 role) and so has no
// container-credentials provider. Given only AWS_CONTAINER_CREDENTIALS_FULL_URI
// and a token, pointing at a working, reachable, loopback agent, it never asks
// it. The namespace has no 169.254.169.254, so the EC2 link fails fast instead
// of reaching whatever instance metadata the host has. Both builds: the chain
// is the driver's (registry/storage/driver/s3-aws/s3.go), not the SDK's.
it.concurrent.for(REGISTRY_BUILDS)(
  "$name: the registry with only AWS_CONTAINER_CREDENTIALS_FULL_URI: no credentials, pushes fail with 500, the agent is never called",
  { timeout: REGISTRY_TEST_TIMEOUT_MS },
  async (build, ctx) => {
    const { world, tmp, defer } = await setStage(ctx, "container");
    const agent = await startPodIdentityAgent({ sts: world.sts, roleArn: APP_ROLE });
    defer(() => agent.close());
    const netns = await createNetworkNamespace({ imdsAddress: false });
    defer(() => netns.close());
    const s3Inside = await netns.expose(18081, world.front.url, tmp.dir);
    const agentInside = `${await netns.expose(18082, agent.url, tmp.dir)}${POD_IDENTITY_CREDENTIALS_PATH}`;

    // The agent answers from inside the namespace: a client with a container provider would get credentials.
    expect((await fetchIn(netns, agentInside, { authorization: agent.token })).status).toBe(200);
    expect(agent.calls).toHaveLength(1);

    const home = tmp.path("home");
    await mkdir(home, { mode: 0o755 });
    const registry = await startRegistry({
      build,
      configFile: tmp.path("config.yml"),
      config: await registryConfigFromExample("pod-identity", s3Inside, "127.0.0.1:5000"),
      env: registryEnv(home, {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: agentInside,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: agent.token,
      }),
      place: netns,
    });
    defer(() => registry.stop());

    const image = await makeOciImage(tmp.path("image"));
    const pushed = await push(image.ref, `${registry.address}/negative/app:v1`, netns);
    expect(pushed.ok).toBe(false);
    expect(pushed.stderr).toMatch(/500 \(Internal Server Error\)|500 Internal Server Error/);
    expect(registry.log()).toContain("NoCredentialProviders: no valid providers in chain");
    // Nothing reached S3, and the only agent call is the probe above.
    expect(world.front.requests).toEqual([]);
    expect(agent.calls).toHaveLength(1);
    // The registry itself keeps running: it starts without credentials and fails each storage call.
    expect(registry.child.exitCode).toBeNull();
  },
);
