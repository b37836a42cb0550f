/**
 * scripts/image-archive.mjs on an archive of each layout a builder writes: the
 * OCI layout with gzip layers (podman, buildah), with uncompressed layers and a
 * manifest.json beside (Docker 25+'s classic store), with an image index above
 * the manifests and an attestation manifest among them (Docker's containerd
 * store), and the Docker archive with manifest.json only (Docker before 25,
 * written here by skopeo). The same small image in each: its digests found,
 * its sizes exact. There is no Docker on these machines: the Docker layouts
 * are laid out here from their specifications and checked by skopeo.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { REPO, skopeo } from "./support/image.js";

interface Sizes {
  compressed: number;
  uncompressed: number;
  layers: number;
  compressedMeasured: boolean;
}
const archives = (await import(pathToFileURL(join(REPO, "scripts/image-archive.mjs")).href)) as {
  readImageArchive: (path: string) => { layout: string; refs: string[]; digests: string[] };
  archiveHolds: (path: string, id: string) => boolean;
  imageSizes: (path: string) => Promise<Sizes>;
  tarEntries: (path: string) => Map<string, { offset: number; size: number }>;
};

const exec = promisify(execFile);
const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const NAME = "ghcr.io/credbridge/credbridge:0.1.0";

let tmp: Awaited<ReturnType<typeof tempDir>>;
/** The small image's parts: two layer tars, their gzip, the config. */
const image = {
  tars: [] as Buffer[],
  gzips: [] as Buffer[],
  config: Buffer.alloc(0),
};

const descriptor = (mediaType: string, body: Buffer, extra: object = {}) => ({
  mediaType,
  digest: sha(body),
  size: body.length,
  ...extra,
});

/** An OCI image layout in `dir` holding `blobs`, with `index` as index.json; tarred to `dir`.tar. */
const layout = async (dir: string, blobs: Buffer[], index: object, extra: Record<string, string> = {}) => {
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  for (const b of blobs) writeFileSync(join(dir, "blobs/sha256", sha(b).slice(7)), b);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), JSON.stringify(index));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  await exec("tar", ["-cf", `${dir}.tar`, "-C", dir, "."]);
  return `${dir}.tar`;
};

const manifestOf = (layers: Buffer[], layerType: string) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: descriptor("application/vnd.oci.image.config.v1+json", image.config),
      layers: layers.map((l) => descriptor(layerType, l)),
    }),
  );

const paths: Record<string, string> = {};

beforeAll(async () => {
  tmp = await tempDir("credbridge-image-archive-");
  // Two layers of real tars (GNU tar), one with a file big enough to compress.
  for (const [i, files] of [
    [0, { "usr/local/bin/tool": "x".repeat(200_000) }],
    [1, { "app/package.json": '{"version":"0.1.0"}\n' }],
  ] as const) {
    const root = tmp.path(`layer${i}`);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(root, name, ".."), { recursive: true });
      writeFileSync(join(root, name), text);
    }
    await exec("tar", [
      "--sort=name",
      "--mtime=@0",
      "--owner=0",
      "--group=0",
      "-cf",
      `${root}.tar`,
      "-C",
      root,
      ".",
    ]);
    image.tars.push(readFileSync(`${root}.tar`));
  }
  image.gzips = image.tars.map((t) => gzipSync(t));
  image.config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { User: "65532:65532" },
      rootfs: { type: "layers", diff_ids: image.tars.map(sha) },
    }),
  );

  // podman and buildah: index.json → manifest, gzip layers; written by skopeo from a layout made here.
  const gzipManifest = manifestOf(image.gzips, "application/vnd.oci.image.layer.v1.tar+gzip");
  const source = await layout(tmp.path("source"), [...image.gzips, image.config, gzipManifest], {
    schemaVersion: 2,
    manifests: [
      descriptor("application/vnd.oci.image.manifest.v1+json", gzipManifest, {
        annotations: { "org.opencontainers.image.ref.name": "0.1.0" },
      }),
    ],
  });
  paths.flat = tmp.path("flat.tar");
  await skopeo(["copy", `oci-archive:${source}:0.1.0`, `oci-archive:${paths.flat}:${NAME}`]);

  // Docker before 25: manifest.json, the config, uncompressed layer tars; written by skopeo.
  paths.docker = tmp.path("docker.tar");
  await skopeo(["copy", `oci-archive:${paths.flat}`, `docker-archive:${paths.docker}:${NAME}`]);

  // Docker 25+, classic store: OCI layout, uncompressed layers, manifest.json beside.
  const plainManifest = manifestOf(image.tars, "application/vnd.oci.image.layer.v1.tar");
  paths.plain = await layout(
    tmp.path("plain"),
    [...image.tars, image.config, plainManifest],
    {
      schemaVersion: 2,
      manifests: [
        descriptor("application/vnd.oci.image.manifest.v1+json", plainManifest, {
          annotations: {
            "io.containerd.image.name": `docker.io/${NAME}`,
            "org.opencontainers.image.ref.name": "0.1.0",
          },
        }),
      ],
    },
    {
      "manifest.json": JSON.stringify([
        {
          Config: `blobs/sha256/${sha(image.config).slice(7)}`,
          RepoTags: [NAME],
          Layers: image.tars.map((t) => `blobs/sha256/${sha(t).slice(7)}`),
        },
      ]),
    },
  );

  // Docker's containerd store: index.json → image index → the amd64 manifest, an
  // arm64 one, and BuildKit's attestation manifest (platform unknown/unknown).
  const attestation = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: descriptor("application/vnd.oci.image.config.v1+json", Buffer.from("{}")),
      layers: [],
    }),
  );
  const armConfig = Buffer.from(image.config.toString().replace('"amd64"', '"arm64"'));
  const armManifest = Buffer.from(gzipManifest.toString().replace(sha(image.config), sha(armConfig)));
  const nestedIndex = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        descriptor("application/vnd.oci.image.manifest.v1+json", armManifest, {
          platform: { os: "linux", architecture: "arm64" },
        }),
        descriptor("application/vnd.oci.image.manifest.v1+json", gzipManifest, {
          platform: { os: "linux", architecture: "amd64" },
        }),
        descriptor("application/vnd.oci.image.manifest.v1+json", attestation, {
          platform: { os: "unknown", architecture: "unknown" },
          annotations: {
            "vnd.docker.reference.digest": sha(gzipManifest),
            "vnd.docker.reference.type": "attestation-manifest",
          },
        }),
      ],
    }),
  );
  paths.nested = await layout(
    tmp.path("nested"),
    [
      ...image.gzips,
      image.config,
      armConfig,
      gzipManifest,
      armManifest,
      attestation,
      Buffer.from("{}"),
      nestedIndex,
    ],
    {
      schemaVersion: 2,
      manifests: [
        descriptor("application/vnd.oci.image.index.v1+json", nestedIndex, {
          annotations: { "io.containerd.image.name": `docker.io/${NAME}` },
        }),
      ],
    },
  );
  // skopeo reads the nested layout as an index and picks the amd64 image from it.
  const picked = JSON.parse(
    (await skopeo(["inspect", "--override-arch", "amd64", "--raw", `oci-archive:${paths.nested}`])).stdout,
  ) as { manifests?: unknown[] };
  expect(picked.manifests).toHaveLength(3);
}, 120_000);

afterAll(async () => {
  await tmp?.cleanup();
});

/** The sizes: the gzip blobs' when the archive has them, else gzip's of the tars at its default level. */
const expected = (measured: boolean) => ({
  layers: 2,
  uncompressed: image.tars.reduce((n, t) => n + t.length, 0),
  compressed: image.config.length + image.gzips.reduce((n, b) => n + b.length, 0),
  compressedMeasured: measured,
});

describe("an image archive of each layout", () => {
  it("OCI with gzip layers (podman, buildah): the config digest, the sizes from the blobs", async () => {
    const read = archives.readImageArchive(paths.flat!);
    expect(read.layout).toBe("oci");
    expect(read.refs).toEqual([NAME]);
    expect(read.digests.at(-1)).toBe(sha(image.config));
    expect(archives.archiveHolds(paths.flat!, sha(image.config))).toBe(true);
    expect(archives.archiveHolds(paths.flat!, sha(image.config).slice(7))).toBe(true);
    expect(await archives.imageSizes(paths.flat!)).toEqual(expected(true));
  });

  it("OCI with uncompressed layers (Docker 25+, classic store): the sizes, compressed by gzip here", async () => {
    const read = archives.readImageArchive(paths.plain!);
    expect(read.layout).toBe("oci");
    expect(read.digests.at(-1)).toBe(sha(image.config));
    expect(await archives.imageSizes(paths.plain!)).toEqual(expected(false));
  });

  it("OCI with an image index and an attestation (Docker's containerd store): the amd64 image, known by the index's digest too", async () => {
    const read = archives.readImageArchive(paths.nested!);
    expect(read.refs).toEqual([`docker.io/${NAME}`]);
    expect(read.digests).toHaveLength(3);
    expect(read.digests.at(-1)).toBe(sha(image.config));
    for (const digest of read.digests) expect(archives.archiveHolds(paths.nested!, digest)).toBe(true);
    expect(await archives.imageSizes(paths.nested!)).toEqual(expected(true));
  });

  it("Docker's archive without index.json (Docker before 25, skopeo's docker-archive): the config's digest, the sizes", async () => {
    const read = archives.readImageArchive(paths.docker!);
    expect(read.layout).toBe("docker");
    expect(read.refs).toEqual([NAME]);
    expect(read.digests).toEqual([sha(image.config)]);
    expect(await archives.imageSizes(paths.docker!)).toEqual(expected(false));
  });

  it("does not hold another image, and names what is wrong with a file that is no image archive", async () => {
    for (const path of Object.values(paths)) {
      expect(archives.archiveHolds(path, sha(Buffer.from("another image")))).toBe(false);
    }
    const bogus = tmp.path("bogus");
    mkdirSync(bogus);
    writeFileSync(join(bogus, "hello"), "hi");
    await exec("tar", ["-cf", `${bogus}.tar`, "-C", bogus, "."]);
    expect(() => archives.readImageArchive(`${bogus}.tar`)).toThrow(
      /is not an image archive: it has neither index\.json \(OCI image layout\) nor manifest\.json \(docker save\)/,
    );
  });
});

describe("the tar reader", () => {
  it("finds files under long names, in GNU's format and in pax's", async () => {
    const dir = tmp.path("long");
    const name = `blobs/sha256/${"a".repeat(64)}/${"b".repeat(90)}`;
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), "long");
    for (const format of ["gnu", "pax"]) {
      const tar = tmp.path(`long-${format}.tar`);
      await exec("tar", [`--format=${format}`, "-cf", tar, "-C", dir, "."]);
      const entry = archives.tarEntries(tar).get(name);
      expect(entry, format).toBeDefined();
      expect(
        readFileSync(tar)
          .subarray(entry!.offset, entry!.offset + entry!.size)
          .toString(),
      ).toBe("long");
    }
  });
});
