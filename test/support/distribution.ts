import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readFile, rename } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildOnce } from "./build-once.js";
import { goBuild } from "./go.js";

const run = promisify(execFile);

/**
 * The path of distribution's v2.8.3 source archive, when it is not where the
 * repository's neighbours keep it.
 */
export const DISTRIBUTION_ARCHIVE_ENV = "CREDBRIDGE_DISTRIBUTION_ARCHIVE";
const ARCHIVE_NAME = "distribution-v2.8.3.tar.gz";
/** The tag Harbor 2.x builds its registry from, and the SDK vendored in it. */
export const DISTRIBUTION_VERSION = "v2.8.3";
export const VENDORED_SDK_VERSION = "1.15.11";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Where the archive is looked for: `shared/third-party/` beside the
 * repository (a clone, as CI makes it), or beside its parent (a worktree
 * under `<root>/wt/`).
 */
export const archiveCandidates = (): string[] => [
  resolve(REPO, "..", "shared", "third-party", ARCHIVE_NAME),
  resolve(REPO, "..", "..", "shared", "third-party", ARCHIVE_NAME),
];

/**
 * The archive's path: the environment variable's, else the first candidate
 * that exists. Throws, naming both, when there is none: the registry tests
 * must fail without Harbor's registry, never pass without it.
 */
export const findDistributionArchive = (
  env: NodeJS.ProcessEnv = process.env,
  candidates: readonly string[] = archiveCandidates(),
): string => {
  const given = env[DISTRIBUTION_ARCHIVE_ENV];
  if (given !== undefined && given !== "") {
    if (!existsSync(given)) throw new Error(`${DISTRIBUTION_ARCHIVE_ENV}=${given}: no such file`);
    return resolve(given);
  }
  const found = candidates.find((path) => existsSync(path));
  if (found !== undefined) return found;
  throw new Error(
    `Harbor's registry is built from ${ARCHIVE_NAME}, found neither at ${candidates.join(" nor ")} ` +
      `nor through ${DISTRIBUTION_ARCHIVE_ENV}. Point ${DISTRIBUTION_ARCHIVE_ENV} at it, or make it from ` +
      "github.com/distribution/distribution at tag v2.8.3 (commit 4772604ae973031ab32dd9805a4bccf61d94909f): " +
      `git archive --prefix=distribution-2.8.3/ v2.8.3 | gzip > ${ARCHIVE_NAME}`,
  );
};

const sha256File = (path: string): Promise<string> =>
  new Promise((resolveHash, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("error", reject)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolveHash(hash.digest("hex")));
  });

const quoted = (text: string, name: string): string | undefined =>
  new RegExp(`${name}\\s*=\\s*"([^"]+)"`).exec(text)?.[1];

export interface DistributionSource {
  archive: string;
  sha256: string;
  /** The cache directory of this archive: `.cache/third-party/distribution-<sha256>` (git-ignored). */
  cache: string;
  /** A GOPATH whose `src/github.com/docker/distribution` is the extracted tree. */
  gopath: string;
  tree: string;
  /** The tree's `vendor/`: as a GOPATH `src`, it gives other programs the same aws-sdk-go. */
  vendor: string;
  /** Go's build cache for everything built from this tree. */
  goCache: string;
}

/**
 * The archive, extracted once per machine into the repository's cache (keyed
 * by its sha256) and checked to be distribution v2.8.3 with aws-sdk-go 1.15.11.
 */
export const distributionSource = async (
  env: NodeJS.ProcessEnv = process.env,
): Promise<DistributionSource> => {
  const archive = findDistributionArchive(env);
  const sha256 = await sha256File(archive);
  const cache = join(REPO, ".cache", "third-party", `distribution-${sha256}`);
  await mkdir(cache, { recursive: true });
  const gopath = join(cache, "gopath");
  await buildOnce(gopath, async (temporary) => {
    const parent = join(temporary, "src", "github.com", "docker");
    await mkdir(parent, { recursive: true });
    await run("tar", ["-xzf", archive, "-C", parent]);
    // The archive's prefix is distribution-2.8.3/; GOPATH wants the import path.
    await rename(join(parent, "distribution-2.8.3"), join(parent, "distribution"));
  });
  const tree = join(gopath, "src", "github.com", "docker", "distribution");
  const version = quoted(
    await readFile(join(tree, "version", "version.go"), "utf8").catch(() => ""),
    "Version",
  );
  const sdk = quoted(
    await readFile(
      join(tree, "vendor", "github.com", "aws", "aws-sdk-go", "aws", "version.go"),
      "utf8",
    ).catch(() => ""),
    "SDKVersion",
  );
  if (!version?.startsWith(DISTRIBUTION_VERSION) || sdk !== VENDORED_SDK_VERSION) {
    throw new Error(
      `${archive} is not distribution ${DISTRIBUTION_VERSION} with aws-sdk-go ${VENDORED_SDK_VERSION} vendored ` +
        `(found version ${version ?? "none"}, aws-sdk-go ${sdk ?? "none"}); remove ${cache} if it was edited`,
    );
  }
  return {
    archive,
    sha256,
    cache,
    gopath,
    tree,
    vendor: join(tree, "vendor"),
    goCache: join(cache, "gocache"),
  };
};

export interface HarborRegistry {
  binary: string;
  /** What `registry --version` says after the program's name: `github.com/docker/distribution v2.8.3+unknown`. */
  version: string;
  /** Milliseconds this call spent building (0 when the cached binary was there). */
  buildMs: number;
}

/**
 * Harbor's registry: `go build ./cmd/registry` of the extracted tree, as
 * distribution's own Dockerfile and Harbor's registry image do (GOPATH mode,
 * CGO_ENABLED=0), built once per archive and cached beside it.
 */
export const buildHarborRegistry = async (env: NodeJS.ProcessEnv = process.env): Promise<HarborRegistry> => {
  const source = await distributionSource(env);
  const binary = join(source.cache, "registry");
  const { ms } = await buildOnce(binary, (output) =>
    goBuild({
      cwd: source.tree,
      gopath: [source.gopath],
      cache: source.goCache,
      pkg: "./cmd/registry",
      output,
    }),
  );
  const { stdout } = await run(binary, ["--version"]);
  if (!stdout.includes(DISTRIBUTION_VERSION)) {
    throw new Error(
      `${binary} --version says ${stdout.trim()}, not ${DISTRIBUTION_VERSION}: remove it to rebuild`,
    );
  }
  return { binary, version: stdout.trim().split(/\s+/).slice(1).join(" "), buildMs: ms };
};
