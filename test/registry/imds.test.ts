import { expect, it } from "vitest";
import { IMDS_ADDRESS } from "../support/netns.js";
import { REGISTRY_BUILDS } from "./support/builds.js";
import { imdsStage } from "./support/paths.js";
import { registryConfigFromExample, registryEnv, startRegistry } from "./support/registry.js";
import { SESSION_SECONDS } from "./support/rotations.js";
import { expectSurvivesRotations, REGISTRY_TEST_TIMEOUT_MS, setStage } from "./support/stage.js";

const CREDENTIALS_ROUTE = "/latest/meta-data/iam/security-credentials/{role}";
const TOKEN_ROUTE = "/latest/api/token";

// Path 2: the IMDS example's recipe, executed. A network namespace gets
// 169.254.169.254/32 on its loopback (what the example's init container does);
// credbridge serves IMDS on that address and port 80; the registry, with no
// AWS_EC2_METADATA_SERVICE_ENDPOINT, asks the address every aws-sdk-go
// knows (aws-sdk-go 1.15.11 knows no other). STS and the S3 front are reached
// inside at 127.0.0.1 through a bridge.
it.concurrent.for(REGISTRY_BUILDS)(
  "$name: the registry on S3 through IMDS at 169.254.169.254:80 in a network namespace, across rotations",
  { timeout: REGISTRY_TEST_TIMEOUT_MS },
  async (build, ctx) => {
    const stage = await setStage(ctx, "imds", { lifetimeSeconds: SESSION_SECONDS });
    const { world, tmp, defer } = stage;
    const { sidecar, netns, s3, home } = await imdsStage(stage);
    expect(sidecar.url).toBe(`http://${IMDS_ADDRESS}`);

    const env = registryEnv(home);
    expect(env).not.toHaveProperty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const registry = await startRegistry({
      build,
      configFile: tmp.path("config.yml"),
      config: await registryConfigFromExample("imds", s3, "127.0.0.1:5000"),
      env,
      place: netns,
    });
    defer(() => registry.stop());

    // Every signer is a session STS issued to credbridge: the registry used credbridge's output, nothing else.
    const report = await expectSurvivesRotations({
      path: "IMDS (netns, 169.254.169.254:80)",
      build,
      world,
      registry,
      workDir: tmp.path("images"),
      place: netns,
      signers: () => world.sts.issued.map((c) => c.accessKeyId),
    });

    const served = await sidecar.imdsRequests();
    const count = (path: string, status?: number) =>
      served
        .filter((r) => r.path === path && (status === undefined || r.status === status))
        .reduce((n, r) => n + r.n, 0);
    console.log(`registry-imds ${JSON.stringify({ build: build.name, served })}`);
    // Nothing refused: credbridge serves IMDSv1 (no token) by default.
    expect(served.filter((r) => r.status !== 200)).toEqual([]);
    if (build.imdsV2) {
      expect(count(TOKEN_ROUTE, 200)).toBeGreaterThan(0);
    } else {
      // aws-sdk-go 1.15.11 never asks for a token: every read is IMDSv1.
      expect(count(TOKEN_ROUTE)).toBe(0);
    }
    // No expiry window: one credentials read per session it used, plus one after each ExpiredToken.
    const reads = count(CREDENTIALS_ROUTE, 200);
    expect(reads).toBeGreaterThanOrEqual(report.signingKeys);
    expect(reads).toBeLessThanOrEqual(report.signingKeys + (report.refused.ExpiredToken ?? 0));
  },
);
