// Builds the credbridge image from examples/image/Dockerfile and writes it as an
// OCI archive, dist/image/credbridge.oci.tar (`podman run oci-archive:…`,
// `skopeo copy`, `docker load` take it). `npm run image` calls this after
// set-up and build (scripts/image.sh); the tests call it too (test/image).
//
//   node scripts/image.mjs [--builder buildah|podman|docker] [--json]
//
// Two ways, one Dockerfile (the decisions: scripts/image-plan.mjs):
// - on Debian amd64 with apt-get, when every pinned .deb is obtainable: the
//   root filesystem is assembled here (examples/image/assemble.mjs) and handed
//   to the builder as the named context "parts", so no registry is contacted;
// - otherwise (saying why): the builder runs the Dockerfile's assemble stage
//   itself, on node:24-bookworm-slim from Docker Hub.
//
// Cached by what goes into the image (scripts/image-inputs.mjs): the parts'
// bytes (the standalone bundle holds every workspace package and the AWS SDK
// it uses), or every file the Dockerfile copies from the context; the
// Dockerfile, version, revision, commit time, builder. dist/image/build.json
// records the inputs and the image ID; a later run with the same inputs builds
// nothing, once it has checked that the builder still holds that ID under this
// checkout's tag and that the archive holds that ID (it repairs either from
// the image when it can).
//
// Builders' storage is shared by every checkout on a machine: each checkout
// builds to a tag of its own (its inputs and its output directory), reads the
// image ID from --iidfile rather than through a name, removes only its own
// tags, and moves the version's shared name (ghcr.io/credbridge/credbridge:
// <version>) last, as a convenience nothing here relies on. Runs holding a
// lock (flock on dist/image/.lock), so concurrent runs in one checkout wait
// for one build.
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { archiveHolds, imageSizes } from "./image-archive.mjs";
import { contextDigest, digestOf, treeDigest } from "./image-inputs.mjs";
import {
  buildCommand,
  checkoutTag,
  chooseBuilder,
  dockerProblem,
  isCheckoutTag,
  PLATFORM,
  partsSource,
} from "./image-plan.mjs";
import { pins as nodePins } from "./node.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
// CREDBRIDGE_IMAGE_OUT: another output directory (the tests' second checkout uses one).
const out = process.env.CREDBRIDGE_IMAGE_OUT ?? join(root, "dist/image");
const DOCKERFILE = "examples/image/Dockerfile";
const IGNOREFILE = "examples/image/Dockerfile.dockerignore";

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
const git = (args, fallback) => {
  const r = spawnSync("git", args, { cwd: root, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : fallback;
};
const note = (text) => process.stderr.write(`image: ${text}\n`);

// The builders' progress goes to stderr: stdout carries --json.
const sh = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: ["ignore", 2, 2] });

/** The image ID ("sha256:…") `ref` names in the builder's storage, or undefined. */
const imageId = (builder, ref) => {
  const args =
    builder === "buildah"
      ? ["inspect", "--type", "image", "--format", "{{.FromImageID}}", ref]
      : ["image", "inspect", "--format", "{{.Id}}", ref];
  const r = spawnSync(builder, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const id = r.status === 0 ? r.stdout.trim() : "";
  return id ? (id.startsWith("sha256:") ? id : `sha256:${id}`) : undefined;
};

const tag = (builder, id, name) =>
  spawnSync(builder, ["tag", id, name], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });

/**
 * Writes the image `id` to `archive` as an OCI archive named `name`, and checks
 * that it holds the image (its config digest, what --iidfile names).
 */
const writeArchive = (builder, { id, config }, name, archive) => {
  const partial = `${archive}.${process.pid}`;
  rmSync(partial, { force: true });
  try {
    if (builder === "docker") {
      // docker save takes names, not IDs, and writes the name into the archive
      // (docker load tags it): name it, save it, and check that nothing moved
      // the shared name in between.
      for (let attempt = 1; ; attempt++) {
        const t = tag("docker", id, name);
        if (t.status !== 0) throw new Error(`docker tag ${id} ${name} failed: ${t.stderr.trim()}`);
        sh("docker", ["save", "-o", partial, name]);
        if (archiveHolds(partial, config)) break;
        if (attempt === 3) {
          throw new Error(
            `${name} was moved to another image each time this build saved it (another checkout building): run again`,
          );
        }
      }
    } else {
      sh(builder, ["push", "--quiet", id, `oci-archive:${partial}:${name}`]);
      if (!archiveHolds(partial, config))
        throw new Error(`${builder} push wrote an archive that does not hold ${config}`);
    }
    renameSync(partial, archive);
  } finally {
    rmSync(partial, { force: true });
  }
};

/** Which .debs the download cache already holds with their pinned SHA-256 (assemble.mjs checks them again). */
const cachedDebs = async (pins, debs) => {
  const { sha256Of } = await import(pathToFileURL(join(root, "scripts/node.mjs")).href);
  const names = new Set();
  const present = existsSync(debs) ? readdirSync(debs) : [];
  for (const p of pins.packages) {
    const prefix = `${p.name}_${p.version.replace(/:/g, "%3a")}_`;
    const file = present.find((f) => f.startsWith(prefix) && f.endsWith(".deb"));
    if (file && sha256Of(join(debs, file)) === p.sha256) names.add(p.name);
  }
  return names;
};

/** Where the parts come from here: the host (scripts/image-plan.mjs's partsSource, fed this machine). */
const whereParts = async (debs) => {
  const pins = JSON.parse(readFileSync(join(root, "examples/image/debian.json"), "utf8"));
  const tools = ["apt-get", "dpkg-deb"].filter(has);
  const dpkg = spawnSync("dpkg", ["--print-architecture"], { encoding: "utf8" });
  return partsSource({
    platform: process.platform,
    arch: process.arch,
    tools,
    dpkgArch: dpkg.status === 0 ? dpkg.stdout.trim() : undefined,
    pins,
    cached: tools.length === 2 ? await cachedDebs(pins, debs) : new Set(),
    aptShow: (specs) => {
      const show = (list) => spawnSync("apt-cache", ["show", ...list], { encoding: "utf8" });
      const all = show(specs);
      // It fails whole when it knows one of the packages not at all: then each on its own.
      if (all.status === 0) return all.stdout;
      return specs
        .map((spec) => show([spec]))
        .filter((r) => r.status === 0)
        .map((r) => r.stdout)
        .join("\n");
    },
  });
};

/**
 * The parts in `out`/parts: the base kept while its inputs (the pins, rootfs,
 * assemble.mjs) are unchanged, the app (the standalone bundle) assembled each
 * time. Returns the digest of both trees as they are now.
 */
const hostParts = async (parts, epoch) => {
  const assembler = await import(pathToFileURL(join(root, "examples/image/assemble.mjs")).href);
  const here = join(root, "examples/image");
  const baseKey = digestOf({
    debian: readFileSync(join(here, "debian.json"), "utf8"),
    node: nodePins.releases[nodePins.image],
    rootfs: treeDigest(join(here, "rootfs")),
    assemble: readFileSync(join(here, "assemble.mjs"), "utf8"),
  });
  const record = join(parts, "base.json");
  const kept = existsSync(record) ? JSON.parse(readFileSync(record, "utf8")) : undefined;
  let baseDigest = kept?.key === baseKey && existsSync(join(parts, "base")) ? kept.digest : undefined;
  if (!baseDigest) {
    rmSync(record, { force: true });
    assembler.assembleBase({
      out: join(parts, "base"),
      work: join(out, "work"),
      debs: join(root, ".cache/debian"),
      epoch,
    });
    baseDigest = treeDigest(join(parts, "base"));
    writeFileSync(record, JSON.stringify({ key: baseKey, digest: baseDigest }));
  } else {
    assembler.settle(join(parts, "base"), epoch);
  }
  assembler.assembleApp({ out: join(parts, "app"), epoch });
  return { base: baseDigest, app: treeDigest(join(parts, "app")) };
};

export const buildImage = async ({ builder: wanted } = {}) => {
  const cli = join(root, "packages/cli");
  if (!existsSync(join(cli, "dist/commands/webhook.js"))) {
    throw new Error("packages/cli/dist is missing: run `pnpm run build` first (npm run image does)");
  }
  const { IMAGE_REPOSITORY } = await import(pathToFileURL(join(cli, "dist/commands/webhook.js")).href);
  const version = JSON.parse(readFileSync(join(cli, "package.json"), "utf8")).version;
  // CREDBRIDGE_IMAGE_REVISION: for a build from a source archive, which has no .git.
  const revision = process.env.CREDBRIDGE_IMAGE_REVISION || git(["rev-parse", "HEAD"], "unknown");
  const epoch = Number(git(["log", "-1", "--format=%ct"], "0"));
  const builder = chooseBuilder(wanted, has);
  if (builder === "docker") {
    const buildx = spawnSync("docker", ["buildx", "version"], { stdio: "ignore" }).status;
    const server = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], {
      encoding: "utf8",
    }).stdout;
    const problem = dockerProblem({ buildx, server });
    if (problem) throw new Error(problem);
  }
  mkdirSync(out, { recursive: true });
  const where = await whereParts(join(root, ".cache/debian"));
  if (!where.host)
    note(`the builder assembles the parts (node:24-bookworm-slim from Docker Hub): ${where.reason}`);

  const parts = join(out, "parts");
  const dockerfile = readFileSync(join(root, DOCKERFILE), "utf8");
  const content = where.host
    ? await hostParts(parts, epoch)
    : { context: contextDigest(root, dockerfile, readFileSync(join(root, IGNOREFILE), "utf8")) };
  const inputs = digestOf({ content, dockerfile, version, revision, epoch, builder, platform: PLATFORM });
  const name = `${IMAGE_REPOSITORY}:${version}`;
  const image = checkoutTag(out, inputs);
  const archive = join(out, "credbridge.oci.tar");
  const record = join(out, "build.json");
  const previous = existsSync(record) ? JSON.parse(readFileSync(record, "utf8")) : undefined;

  if (
    previous?.inputs === inputs &&
    previous.image === image &&
    previous.config &&
    imageId(builder, previous.id)
  ) {
    // Built before: trust it once the tag and the archive are that image again.
    if (imageId(builder, image) !== previous.id) {
      note(`${image} had been moved to another image: naming ${previous.id} again`);
      const t = tag(builder, previous.id, image);
      if (t.status !== 0)
        throw new Error(`${builder} tag ${previous.id} ${image} failed: ${t.stderr.trim()}`);
    }
    const archived = existsSync(archive) && archiveHolds(archive, previous.config);
    if (!archived) {
      note(`${relative(process.cwd(), archive)} did not hold ${previous.config}: writing it again`);
      writeArchive(builder, previous, name, archive);
    }
    tag(builder, previous.id, name);
    return { ...previous, built: false };
  }

  const started = process.hrtime.bigint();
  const iidfile = join(out, `iid.${process.pid}`);
  rmSync(iidfile, { force: true });
  let config;
  try {
    const [cmd, args] = buildCommand({
      builder,
      dockerfile: join(root, DOCKERFILE),
      context: root,
      parts: where.host ? parts : undefined,
      ignorefile: join(root, IGNOREFILE),
      tag: image,
      iidfile,
      version,
      revision,
      epoch,
    });
    sh(cmd, args);
    config = readFileSync(iidfile, "utf8").trim();
  } finally {
    rmSync(iidfile, { force: true });
  }
  if (!config.startsWith("sha256:")) config = `sha256:${config}`;
  // The ID in the builder's storage: the config digest (buildah, podman,
  // Docker's classic store), or the manifest's or index's (Docker's containerd store).
  const id = imageId(builder, image);
  if (!id || (builder !== "docker" && id !== config)) {
    throw new Error(`${builder} built ${config}, but ${image} names ${id ?? "nothing"}`);
  }
  writeArchive(builder, { id, config }, name, archive);

  const result = {
    inputs,
    // What the inputs digest covers, part by part: which one moved when two builds differ.
    content,
    id,
    config,
    image,
    name,
    archive,
    version,
    revision,
    builder,
    parts: where.host ? "host" : "builder",
    ...(where.host ? {} : { partsReason: where.reason }),
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    archiveBytes: statSync(archive).size,
    ...(await imageSizes(archive)),
  };
  writeFileSync(record, `${JSON.stringify(result, null, 2)}\n`);
  // Not needed by anything here: the version's name, for people. Before the
  // clean-up below, so an image this checkout leaves is not left holding it.
  const t = tag(builder, id, name);
  if (t.status !== 0) note(`could not name it ${name} (${t.stderr.trim()}); it is ${image}`);
  // This checkout's previous image, by its own tag only: another checkout's
  // tags (and the shared name, if another build has it there) keep theirs.
  // Refused (and left) while a container still uses it.
  if (previous?.image && previous.image !== image && isCheckoutTag(out, previous.image)) {
    spawnSync(builder, ["rmi", previous.image], { stdio: "ignore" });
  }
  return { ...result, built: true };
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const i = args.indexOf("--builder");
  const builder = i === -1 ? undefined : args[i + 1];
  // One build at a time per checkout: re-run under flock(1) when it exists
  // (util-linux, on every Debian); the kernel drops the lock if we die.
  if (!process.env.CREDBRIDGE_IMAGE_LOCKED && has("flock")) {
    mkdirSync(out, { recursive: true });
    const r = spawnSync("flock", [join(out, ".lock"), process.execPath, ...process.argv.slice(1)], {
      stdio: "inherit",
      env: { ...process.env, CREDBRIDGE_IMAGE_LOCKED: "1" },
    });
    process.exit(r.status ?? 1);
  }
  try {
    const result = await buildImage({ builder });
    if (args.includes("--json")) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
      process.stderr.write(
        `image: ${result.name} (${result.image}) ${result.built ? `built in ${result.seconds.toFixed(1)} s` : "up to date"}: ` +
          `${mb(result.compressed)} compressed${result.compressedMeasured ? "" : " (gzip here of its uncompressed layers)"}, ${mb(result.uncompressed)} uncompressed\n` +
          `image: ${relative(process.cwd(), result.archive)} (podman run oci-archive:…, skopeo copy, docker load)\n`,
      );
    }
  } catch (error) {
    process.stderr.write(`image: ${error.message}\n`);
    process.exit(1);
  }
}
