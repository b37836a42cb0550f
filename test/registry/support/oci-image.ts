import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";

const run = promisify(execFile);

export interface OciImage {
  /** `oci:<dir>:<tag>`, the skopeo reference of the layout. */
  ref: string;
  manifestDigest: string;
  /** Config and layer digests: what the registry must store as blobs. */
  blobDigests: string[];
}

const sha256 = (data: Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/**
 * Writes an OCI image layout (config + `layers` gzipped tar layers of `layerBytes`
 * random bytes each) for skopeo to copy. Random content: every image is new to
 * the registry, so each push uploads every blob.
 */
export const makeOciImage = async (
  dir: string,
  options: { tag?: string; layers?: number; layerBytes?: number } = {},
): Promise<OciImage> => {
  const tag = options.tag ?? "v1";
  const blobsDir = join(dir, "blobs", "sha256");
  await mkdir(blobsDir, { recursive: true });
  const putBlob = async (data: Buffer) => {
    const digest = sha256(data);
    await writeFile(join(blobsDir, digest.slice("sha256:".length)), data);
    return { digest, size: data.length };
  };
  const layers: { digest: string; size: number }[] = [];
  const diffIds: string[] = [];
  const scratch = join(dir, "scratch");
  await mkdir(scratch, { recursive: true });
  for (let i = 0; i < (options.layers ?? 2); i++) {
    await writeFile(join(scratch, `layer-${i}.bin`), randomBytes(options.layerBytes ?? 4096));
    // A real tar from the system's tar, as an image build would make.
    const { stdout } = await run("tar", ["-C", scratch, "-cf", "-", `layer-${i}.bin`], {
      encoding: "buffer",
      maxBuffer: 64 * 1024 * 1024,
    });
    diffIds.push(sha256(stdout));
    layers.push(await putBlob(gzipSync(stdout)));
  }
  const config = await putBlob(
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: {},
        rootfs: { type: "layers", diff_ids: diffIds },
      }),
    ),
  );
  const manifest = await putBlob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l })),
      }),
    ),
  );
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return {
    ref: `oci:${dir}:${tag}`,
    manifestDigest: manifest.digest,
    blobDigests: [config.digest, ...layers.map((l) => l.digest)],
  };
};
