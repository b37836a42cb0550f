import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it, vi } from "vitest";
import { REGISTRY_BUILDS } from "./support/builds.js";
import { makeOciImage } from "./support/oci-image.js";
import { registryConfigFromExample, registryEnv, startRegistry } from "./support/registry.js";
import { SESSION_SECONDS } from "./support/rotations.js";
import { completedBlobs } from "./support/s3-world.js";
import { startFileSidecar } from "./support/sidecars.js";
import { pull, push } from "./support/skopeo.js";
import { expectSignedByBuild, REGISTRY_TEST_TIMEOUT_MS, setStage } from "./support/stage.js";

// credbridge stopped (SIGTERM) while the registry pushes: the file keeps the
// last session, which expires; the registry's next push fails cleanly (a 500
// to the client, the registry still up); once credbridge is back the next
// push succeeds without restarting the registry, and no blob in the bucket
// is a partial upload under a completed blob's name.
it.concurrent.for(REGISTRY_BUILDS)(
  "$name: SIGTERM to credbridge mid-push: the next push fails cleanly, succeeds after credbridge restarts, no partial blob",
  { timeout: REGISTRY_TEST_TIMEOUT_MS },
  async (build, ctx) => {
    const { world, tmp, defer } = await setStage(ctx, "sigterm", { lifetimeSeconds: SESSION_SECONDS });
    await mkdir(tmp.path("home", ".aws"), { recursive: true, mode: 0o700 });
    const credentialsFile = tmp.path("home", ".aws", "credentials");
    const sidecar = () => startFileSidecar({ stsUrl: world.sts.url, credentialsFile, dir: tmp.dir });
    const first = await sidecar();
    defer(() => first.stop());
    const registry = await startRegistry({
      build,
      configFile: tmp.path("config.yml"),
      config: await registryConfigFromExample("irsa", world.front.url, "127.0.0.1:0"),
      env: registryEnv(tmp.path("home")),
    });
    defer(() => registry.stop());
    const images = tmp.path("images");

    // A push big enough to be caught in the middle: three layers of 2 MiB.
    const big = await makeOciImage(join(images, "big"), { layers: 3, layerBytes: 2 * 1024 * 1024 });
    const seen = world.front.requests.length;
    const midPush = push(big.ref, `${registry.address}/sigterm/app:big`);
    await vi.waitFor(() => expect(world.front.requests.length).toBeGreaterThan(seen), {
      timeout: 10_000,
      interval: 20,
    });
    expect((await first.stop()).code).toBe(0);
    const interrupted = await midPush;

    // The file now holds credbridge's last session; wait (polling STS's clock, not sleeping) until it has expired.
    const lastExpiry = Math.max(...world.sts.issued.map((c) => c.expiration.getTime()));
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(lastExpiry), {
      timeout: (SESSION_SECONDS + 5) * 1000,
      interval: 100,
    });
    const next = await makeOciImage(join(images, "next"));
    const refusedBefore = world.front.requests.filter((r) => r.code === "ExpiredToken").length;
    const failed = await push(next.ref, `${registry.address}/sigterm/app:next`);
    expect(failed.ok).toBe(false);
    expect(failed.stderr).toMatch(/500/);
    expect(world.front.requests.filter((r) => r.code === "ExpiredToken").length).toBeGreaterThan(
      refusedBefore,
    );
    expect(registry.log()).toContain("ExpiredToken");
    expect(registry.child.exitCode).toBeNull();

    const second = await sidecar();
    defer(() => second.stop());
    const retried = await push(next.ref, `${registry.address}/sigterm/app:next`);
    expect(retried.stderr).toBe("");
    expect(retried.ok).toBe(true);
    const pulled = await pull(`${registry.address}/sigterm/app:next`, `oci:${tmp.path("out")}:next`);
    expect(pulled.ok).toBe(true);
    const index = JSON.parse(await readFile(tmp.path("out", "index.json"), "utf8"));
    expect(index.manifests[0].digest).toBe(next.manifestDigest);

    // No partial object under a completed blob's path; the image pushed after the restart is all there.
    const blobs = await completedBlobs(world);
    expect(blobs.filter((b) => !b.intact)).toEqual([]);
    expect(blobs.map((b) => b.digest)).toEqual(expect.arrayContaining(next.blobDigests));
    expectSignedByBuild(world, build);
    console.log(
      `registry-sigterm ${JSON.stringify({ build: build.name, midPushOk: interrupted.ok, failedPushMs: failed.ms, retriedPushMs: retried.ms, blobs: blobs.length })}`,
    );
  },
);
