import { expect, it } from "vitest";
import { cleanEnv, runCli } from "../support/cli.js";
import { IMDS_ADDRESS } from "../support/netns.js";
import { REGISTRY_BUILDS } from "./support/builds.js";
import { makeOciImage } from "./support/oci-image.js";
import { imdsStage } from "./support/paths.js";
import { registryConfigFromExample, registryEnv, startRegistry } from "./support/registry.js";
import type { ImdsRequestCount } from "./support/sidecars.js";
import { pull, push } from "./support/skopeo.js";
import { expectSignedByBuild, REGISTRY_TEST_TIMEOUT_MS, setStage } from "./support/stage.js";

// How each build's aws-sdk-go speaks to IMDS, one push each. 1.15.11 builds
// its metadata client on the endpoints table's fixed
// http://169.254.169.254/latest (aws/endpoints/defaults.go, "ec2metadata")
// and has no token code at all (aws/ec2metadata/api.go: GetMetadata is a
// plain GET); 1.44 reads AWS_EC2_METADATA_SERVICE_ENDPOINT and asks an
// IMDSv2 token first.

const total = (served: ImdsRequestCount[], path: string, status?: number) =>
  served
    .filter((r) => r.path === path && (status === undefined || r.status === status))
    .reduce((n, r) => n + r.n, 0);

/** The IMDS path's namespace (with or without 169.254.169.254), the registry inside, one push and pull. */
const pushThroughImds = async (
  ctx: Parameters<typeof setStage>[0],
  build: (typeof REGISTRY_BUILDS)[number],
  options: { imdsAddress: boolean; imds: string; v2Only?: boolean; registryEnv?: Record<string, string> },
) => {
  const stage = await setStage(ctx, "imds-versions");
  const { world, tmp, defer } = stage;
  const { sidecar, netns, s3, home } = await imdsStage(stage, options);
  const registry = await startRegistry({
    build,
    configFile: tmp.path("config.yml"),
    config: await registryConfigFromExample("imds", s3, "127.0.0.1:5000"),
    env: registryEnv(home, options.registryEnv),
    place: netns,
  });
  defer(() => registry.stop());
  const image = await makeOciImage(tmp.path("image"));
  const ref = `${registry.address}/imds/app:v1`;
  const pushed = await push(image.ref, ref, netns);
  const pulled = pushed.ok ? await pull(ref, `oci:${tmp.path("out")}:v1`, netns) : undefined;
  return { world, sidecar, registry, pushed, pulled };
};

// The variable names credbridge on the namespace's loopback, and the namespace
// has no 169.254.169.254: a build that ignores the variable finds no IMDS at all
// (on an EC2 CI runner it would otherwise reach the runner's own).
it.concurrent.for(REGISTRY_BUILDS)(
  "$name with AWS_EC2_METADATA_SERVICE_ENDPOINT set to credbridge's IMDS on loopback",
  { timeout: REGISTRY_TEST_TIMEOUT_MS },
  async (build, ctx) => {
    const imds = "127.0.0.1:18090";
    const { world, sidecar, registry, pushed, pulled } = await pushThroughImds(ctx, build, {
      imdsAddress: false,
      imds,
      registryEnv: { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${imds}` },
    });
    const served = await sidecar.imdsRequests();
    if (build.followsMetadataEndpointVariable) {
      expect(pushed).toMatchObject({ ok: true, stderr: "" });
      expect(pulled?.ok).toBe(true);
      expect(total(served, "/latest/meta-data/iam/security-credentials/{role}", 200)).toBeGreaterThan(0);
      const issued = new Set(world.sts.issued.map((c) => c.accessKeyId));
      expect(world.front.requests.filter((r) => !issued.has(r.accessKeyId!) || !r.forwarded)).toEqual([]);
      expectSignedByBuild(world, build);
    } else {
      expect(pushed.ok).toBe(false);
      expect(pushed.stderr).toMatch(/500 \(Internal Server Error\)|500 Internal Server Error/);
      expect(registry.log()).toContain("NoCredentialProviders");
      // It never asked credbridge, and nothing reached S3.
      expect(served).toEqual([]);
      expect(world.front.requests).toEqual([]);
    }
  },
);

// --imds-v2-only answers 401 to a read without a token. aws-sdk-go 1.15.11
// never asks for one, so the registry gets nothing; credbridge says so in its
// help and at start-up.
it.concurrent.for(REGISTRY_BUILDS)(
  "$name against credbridge --imds-v2-only at 169.254.169.254:80",
  { timeout: REGISTRY_TEST_TIMEOUT_MS },
  async (build, ctx) => {
    const { world, sidecar, registry, pushed } = await pushThroughImds(ctx, build, {
      imdsAddress: true,
      imds: `${IMDS_ADDRESS}:80`,
      v2Only: true,
    });
    const served = await sidecar.imdsRequests();
    console.log(`registry-imds-v2-only ${JSON.stringify({ build: build.name, pushOk: pushed.ok, served })}`);
    const warning = sidecar.cli.lines.find(
      (l) => l.includes('"level":"warn"') && l.includes("--imds-v2-only"),
    );
    expect(warning).toMatch(/aws-sdk-go before 1\.25\.38.*Harbor 2\.x's registry/);
    if (build.imdsV2) {
      expect(pushed).toMatchObject({ ok: true, stderr: "" });
      expect(total(served, "/latest/api/token", 200)).toBeGreaterThan(0);
      expect(served.filter((r) => r.status !== 200)).toEqual([]);
      expectSignedByBuild(world, build);
    } else {
      expect(pushed.ok).toBe(false);
      expect(registry.log()).toContain("NoCredentialProviders");
      expect(total(served, "/latest/api/token")).toBe(0);
      // Token-less reads, refused (credbridge counts a refused read under "unauthorized").
      expect(total(served, "unauthorized", 401)).toBeGreaterThan(0);
      expect(served.filter((r) => r.status === 200)).toEqual([]);
      expect(world.front.requests).toEqual([]);
    }
  },
);

it("credbridge serve --help says --imds-v2-only breaks IMDSv1-only clients, Harbor's registry among them", async () => {
  const help = await runCli(["serve", "--help"], cleanEnv("/tmp"));
  expect(help.stdout).toMatch(/--imds-v2-only\n.*aws-sdk-go before 1\.25\.38.*Harbor 2\.x's registry/);
});
