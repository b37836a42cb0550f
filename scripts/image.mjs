// Builds the credbridge image from examples/image/Dockerfile and writes it as an
// OCI archive, dist/image/credbridge.oci.tar (`podman run oci-archive:…`,
// `skopeo copy`, `docker load` take it). `npm run image` calls this after
// set-up and build (scripts/image.sh); the tests call it too (test/image).
//
//   node scripts/image.mjs [--builder buildah|podman|docker] [--json]
//
// Two ways, one Dockerfile:
// - on Debian with buildah or podman (or docker) and apt-get: the root filesystem
//   is assembled here (examples/image/assemble.mjs) and handed to the builder as
//   the named context "parts", so no registry is contacted at all;
// - elsewhere, with docker (or podman): the builder runs the Dockerfile's parts
//   stage itself, on node:24-bookworm-slim from Docker Hub.
//
// Cached by its inputs: the Dockerfile and everything beside it, the Node pin,
// the CLI's built JavaScript, bundler, lockfile, version and revision. When
// dist/image/build.json records the same inputs, the archive exists and the
// builder still holds the image, nothing is built again. Runs holding a lock
// (flock on dist/image/.lock), so concurrent test runs wait for one build.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
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

const root = fileURLToPath(new URL("..", import.meta.url));
// CREDBRIDGE_IMAGE_OUT: another output directory (the tests' check of the lock uses one).
const out = process.env.CREDBRIDGE_IMAGE_OUT ?? join(root, "dist/image");
const DOCKERFILE = "examples/image/Dockerfile";

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
const git = (args, fallback) => {
  const r = spawnSync("git", args, { cwd: root, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : fallback;
};

const files = (dir, keep = () => true) =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && keep(join(e.parentPath ?? e.path, e.name)))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();

/** Everything the image is made from, hashed: what decides whether to build again. */
const inputsHash = (extra) => {
  const cli = join(root, "packages/cli");
  const paths = [
    ...files(join(root, "examples/image")),
    ...files(join(cli, "dist"), (f) => f.endsWith(".js") && !/\.spec\.js$/.test(f)),
    join(cli, "bin/credbridge.cjs"),
    join(cli, "package.json"),
    join(cli, "scripts/bundle.mjs"),
    join(root, "scripts/node.json"),
    join(root, "scripts/node.mjs"),
    join(root, "scripts/image.mjs"),
    join(root, "pnpm-lock.yaml"),
    join(root, "LICENSE"),
  ];
  const h = createHash("sha256");
  for (const p of paths)
    h.update(`${relative(root, p)}\0`)
      .update(readFileSync(p))
      .update("\0");
  h.update(JSON.stringify(extra));
  return h.digest("hex");
};

const chooseBuilder = (wanted) => {
  const builders = wanted ? [wanted] : ["buildah", "podman", "docker"];
  const found = builders.find(has);
  if (!found) {
    throw new Error(
      `no image builder: install buildah or podman (Debian: apt-get install buildah podman) or Docker${wanted ? ` (asked for ${wanted})` : ""}`,
    );
  }
  return found;
};

/** Whether the builder's storage still has `ref`. */
const exists = (builder, ref) =>
  spawnSync(
    builder,
    builder === "buildah" ? ["inspect", "--type", "image", ref] : ["image", "inspect", ref],
    {
      stdio: "ignore",
    },
  ).status === 0;

// The builders' progress goes to stderr: stdout carries --json.
const sh = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: ["ignore", 2, 2] });

/** Layer sizes from the OCI archive: compressed (the blobs) and uncompressed (the diff IDs' tars). */
const sizesOf = (archive) => {
  const dir = join(out, ".sizes");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync("tar", ["-xf", archive, "-C", dir]);
    const blob = (digest) => join(dir, "blobs", ...digest.split(":"));
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), "utf8"));
    const compressed = manifest.layers.reduce((n, l) => n + l.size, 0) + manifest.config.size;
    const uncompressed = manifest.layers.reduce(
      (n, l) =>
        n + Number(execFileSync("sh", ["-c", 'gzip -dc "$1" | wc -c', "-", blob(l.digest)]).toString()),
      0,
    );
    return { compressed, uncompressed, layers: manifest.layers.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
  const epoch = git(["log", "-1", "--format=%ct"], "0");
  const builder = chooseBuilder(wanted);
  // Parts from the host need Debian's tools and the image's own architecture.
  const local = has("apt-get") && has("dpkg-deb") && process.platform === "linux" && process.arch === "x64";
  const inputs = inputsHash({ version, revision, epoch, builder, local });
  const name = `${IMAGE_REPOSITORY}:${version}`;
  const image = `localhost/credbridge-build:${inputs.slice(0, 16)}`;
  const archive = join(out, "credbridge.oci.tar");
  const record = join(out, "build.json");

  const previous = existsSync(record) ? JSON.parse(readFileSync(record, "utf8")) : undefined;
  if (previous?.inputs === inputs && existsSync(archive) && exists(builder, image)) {
    // The version's name may have been moved by another build (another checkout, a test): point it back.
    execFileSync(builder, ["tag", image, name], { stdio: "ignore" });
    return { ...previous, built: false };
  }

  const started = process.hrtime.bigint();
  mkdirSync(out, { recursive: true });
  const args = [
    "--build-arg",
    `VERSION=${version}`,
    "--build-arg",
    `REVISION=${revision}`,
    "-f",
    join(root, DOCKERFILE),
    "-t",
    name,
    "-t",
    image,
  ];
  if (local) {
    const { assemble } = await import(pathToFileURL(join(root, "examples/image/assemble.mjs")).href);
    const parts = join(out, "parts");
    assemble({ out: parts, work: join(out, "work"), debs: join(root, ".cache/debian") });
    const ctx = ["--build-context", `parts=${parts}`];
    if (builder === "docker") sh("docker", ["build", ...ctx, ...args, parts]);
    // --layers: one layer per COPY (buildah's default squashes a stage into one).
    // --no-cache: buildah 1.28 reuses a cached LABEL step whose ARG changed,
    // which left the previous commit's revision on the image; this script's
    // own cache (build.json) is what skips unchanged builds.
    else {
      const bud = builder === "buildah" ? "bud" : "build";
      sh(builder, [bud, "--layers", "--no-cache", "--timestamp", epoch, ...ctx, ...args, parts]);
    }
  } else if (builder === "docker") {
    // BuildKit reads examples/image/Dockerfile.dockerignore beside the Dockerfile.
    sh("docker", ["build", ...args, root]);
  } else {
    const bud = builder === "buildah" ? "bud" : "build";
    const ignore = ["--ignorefile", join(root, "examples/image/Dockerfile.dockerignore")];
    sh(builder, [bud, "--layers", "--no-cache", "--timestamp", epoch, ...ignore, ...args, root]);
  }

  const partial = `${archive}.${process.pid}`;
  rmSync(partial, { force: true });
  if (builder === "docker") {
    // Docker 25 and later write an OCI image layout (index.json, blobs/) in `docker save`.
    sh("docker", ["save", "-o", partial, name]);
  } else {
    sh(builder, ["push", "--quiet", image, `oci-archive:${partial}:${name}`]);
  }
  renameSync(partial, archive);

  const result = {
    inputs,
    image,
    name,
    archive,
    version,
    revision,
    builder,
    parts: local ? "host" : "builder",
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    archiveBytes: statSync(archive).size,
    ...sizesOf(archive),
  };
  writeFileSync(record, `${JSON.stringify(result, null, 2)}\n`);
  // This checkout's previous build, and the intermediate images under it: each
  // holds its own 134 MB. Refused (and left) while a container still uses it.
  if (previous?.image && previous.image !== image) {
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
          `${mb(result.compressed)} compressed, ${mb(result.uncompressed)} uncompressed\n` +
          `image: ${relative(process.cwd(), result.archive)} (podman run oci-archive:…, skopeo copy, docker load)\n`,
      );
    }
  } catch (error) {
    process.stderr.write(`image: ${error.message}\n`);
    process.exit(1);
  }
}
