// Reads an image archive without unpacking it: the OCI image layout that
// `buildah push oci-archive:`, `podman save --format oci-archive` and `docker
// save` (Docker Engine 25 and later, both image stores) write, and the older
// Docker archive (manifest.json only) that `docker save` wrote before 25 and
// `skopeo copy docker-archive:` writes. scripts/image.mjs uses it to check that
// an archive holds the image it built (its ID among the archive's digests) and
// to report the image's sizes; test/image/archive.test.ts builds each layout.
//
// What each layout looks like, as far as this reader cares:
// - OCI, flat: index.json → manifest → config and layers (podman, buildah, and
//   Docker 25+'s classic store, whose layers are uncompressed tars);
// - OCI, nested: index.json → image index → one manifest per platform, plus
//   attestation manifests (platform unknown/unknown) with BuildKit's provenance
//   (Docker's containerd image store; its image ID is the index's digest);
// - Docker: manifest.json → Config (a JSON file named by its digest) and Layers
//   (uncompressed tars), no digests recorded for the layers.
import { createHash } from "node:crypto";
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";

const BLOCK = 512;

/** A tar header's numeric field: octal text, or GNU's base-256 for large sizes. */
const tarNumber = (field) => {
  if (field[0] & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return n;
  }
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  return text === "" ? 0 : Number.parseInt(text, 8);
};

const tarString = (field) => field.toString("utf8").replace(/\0.*$/s, "");

/** The `path` record of a pax extended header ("LEN key=value\n" records), if any. */
const paxPath = (data) => {
  for (let at = 0; at < data.length; ) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(data.subarray(at, space).toString("latin1"));
    if (!(length > 0)) break;
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (record.slice(0, eq) === "path") return record.slice(eq + 1);
    at += length;
  }
  return undefined;
};

/**
 * The regular files of a tar archive: name → { offset, size } of their
 * contents in the file, with ustar prefixes, pax `path` and GNU long names applied.
 */
export const tarEntries = (path) => {
  const fd = openSync(path, "r");
  const entries = new Map();
  const read = (offset, length) => {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  };
  try {
    let offset = 0;
    let longName;
    for (;;) {
      const header = read(offset, BLOCK);
      if (header.length < BLOCK || header.every((b) => b === 0)) break;
      const size = tarNumber(header.subarray(124, 136));
      const type = String.fromCharCode(header[156] || 0x30);
      const magic = header.subarray(257, 262).toString("latin1");
      const prefix = magic === "ustar" ? tarString(header.subarray(345, 500)) : "";
      const data = offset + BLOCK;
      const next = data + Math.ceil(size / BLOCK) * BLOCK;
      if (type === "x") longName = paxPath(read(data, size)) ?? longName;
      else if (type === "L") longName = tarString(read(data, size));
      else if (type !== "g") {
        const name = longName ?? (prefix ? `${prefix}/` : "") + tarString(header.subarray(0, 100));
        longName = undefined;
        if (type === "0" || type === "\0" || type === "7") {
          entries.set(name.replace(/^(\.\/)+/, ""), { offset: data, size });
        }
      }
      offset = next;
    }
  } finally {
    closeSync(fd);
  }
  return entries;
};

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

/** Opens an archive for reading its files by name. */
const open = (path) => {
  const entries = tarEntries(path);
  const file = (name) => {
    const e = entries.get(name);
    if (!e) throw new Error(`${path} has no ${name}`);
    return e;
  };
  const bytes = (name) => {
    const { offset, size } = file(name);
    const fd = openSync(path, "r");
    try {
      const buf = Buffer.alloc(size);
      readSync(fd, buf, 0, size, offset);
      return buf;
    } finally {
      closeSync(fd);
    }
  };
  const json = (name) => JSON.parse(bytes(name).toString("utf8"));
  return { entries, file, bytes, json };
};

const blobPath = (digest) => `blobs/${digest.replace(":", "/")}`;
const isAttestation = (d) => d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest";
const platformOf = (d) =>
  d.platform
    ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ""}`
    : undefined;

/**
 * The image in an archive: its names, every digest that identifies it (an
 * image index's, the manifest's, the config's: an image ID is one of them, by
 * builder), its config and its layers (name in the archive, size, media type).
 * An index holding several images is read for `platform` (linux/amd64, the
 * only one this repository builds); attestation manifests are skipped.
 */
export const readImageArchive = (path, { platform = "linux/amd64" } = {}) => {
  const archive = open(path);
  if (archive.entries.has("index.json")) {
    const digests = [];
    let refs = [];
    let descriptors = archive.json("index.json").manifests ?? [];
    for (let depth = 0; ; depth++) {
      const images = descriptors.filter((d) => !isAttestation(d));
      const candidates =
        images.length > 1 ? images.filter((d) => !d.platform || platformOf(d) === platform) : images;
      if (candidates.length !== 1) {
        const seen = images.map((d) => platformOf(d) ?? d.digest).join(", ") || "none";
        throw new Error(`${path}: expected one image for ${platform}, found ${candidates.length} (${seen})`);
      }
      const chosen = candidates[0];
      if (depth === 0) {
        refs = descriptors
          .map(
            (d) =>
              d.annotations?.["io.containerd.image.name"] ??
              d.annotations?.["org.opencontainers.image.ref.name"],
          )
          .filter(Boolean);
      }
      digests.push(chosen.digest);
      const body = archive.json(blobPath(chosen.digest));
      const type = body.mediaType ?? chosen.mediaType;
      if (INDEX_TYPES.has(type) || (!body.config && Array.isArray(body.manifests))) {
        if (depth > 4) throw new Error(`${path}: image indexes nested too deep`);
        descriptors = body.manifests;
        continue;
      }
      digests.push(body.config.digest);
      return {
        layout: "oci",
        refs,
        digests,
        config: { name: blobPath(body.config.digest), size: body.config.size, digest: body.config.digest },
        layers: body.layers.map((l) => ({ name: blobPath(l.digest), size: l.size, mediaType: l.mediaType })),
        archive,
      };
    }
  }
  if (archive.entries.has("manifest.json")) {
    const manifests = archive.json("manifest.json");
    if (manifests.length !== 1) {
      throw new Error(`${path}: expected one image in manifest.json, found ${manifests.length}`);
    }
    const [m] = manifests;
    const config = archive.file(m.Config);
    const digest = `sha256:${createHash("sha256").update(archive.bytes(m.Config)).digest("hex")}`;
    return {
      layout: "docker",
      refs: m.RepoTags ?? [],
      digests: [digest],
      config: { name: m.Config, size: config.size, digest },
      layers: m.Layers.map((name) => ({ name, size: archive.file(name).size, mediaType: undefined })),
      archive,
    };
  }
  throw new Error(
    `${path} is not an image archive: it has neither index.json (OCI image layout) nor manifest.json (docker save)`,
  );
};

/** Whether `id` ("sha256:…" or bare hex, as builders print it) names the archive's image. */
export const archiveHolds = (path, id) => {
  const wanted = id.startsWith("sha256:") ? id : `sha256:${id}`;
  return readImageArchive(path).digests.includes(wanted);
};

/** The compression of a layer, from its first bytes (media types are not always set, nor right). */
const compressionOf = (head) => {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
};

/** Bytes out of a stream: counted, not kept. */
const counter = () => {
  let n = 0;
  const sink = new Writable({
    write(chunk, _enc, done) {
      n += chunk.length;
      done();
    },
  });
  return { sink, count: () => n };
};

/**
 * The image's size as a registry serves it (compressed: layers and config) and
 * as it lands on disk (uncompressed: the layers' tars). Layers stored
 * uncompressed (Docker's archives) are gzipped here at gzip's default level to
 * tell the compressed size a push would produce; `compressedMeasured` says which.
 */
export const imageSizes = async (path) => {
  const image = readImageArchive(path);
  const { archive } = image;
  let compressed = image.config.size;
  let uncompressed = 0;
  let compressedMeasured = true;
  for (const layer of image.layers) {
    const { offset, size } = archive.file(layer.name);
    const head = Buffer.alloc(4);
    const fd = openSync(path, "r");
    try {
      readSync(fd, head, 0, Math.min(4, size), offset);
    } finally {
      closeSync(fd);
    }
    const stream = () => createReadStream(path, { start: offset, end: offset + size - 1 });
    const kind = size === 0 ? "none" : compressionOf(head);
    const { sink, count } = counter();
    if (kind === "none") {
      await pipeline(stream(), zlib.createGzip(), sink);
      uncompressed += size;
      compressed += count();
      compressedMeasured = false;
    } else {
      if (kind === "zstd" && typeof zlib.createZstdDecompress !== "function") {
        throw new Error(`${path} has zstd layers: reading them needs Node 22.15 or later`);
      }
      await pipeline(stream(), kind === "gzip" ? zlib.createGunzip() : zlib.createZstdDecompress(), sink);
      uncompressed += count();
      compressed += size;
    }
  }
  return { compressed, uncompressed, layers: image.layers.length, compressedMeasured };
};
