// The decisions scripts/image.mjs takes before it builds, as functions of what
// it found on the machine (which builders, which Docker, what apt knows): which
// builder, where the parts come from and why, the builder's arguments, the
// name each checkout builds to. No effects here; test/image/plan.test.ts feeds
// them what other machines would report.
import { createHash } from "node:crypto";

/** The only platform examples/image/debian.json and scripts/node.json pin parts for. */
export const PLATFORM = "linux/amd64";

/** The first builder found (or the one asked for), else an error naming what to install. */
export const chooseBuilder = (wanted, has) => {
  const builders = wanted ? [wanted] : ["buildah", "podman", "docker"];
  if (wanted && !["buildah", "podman", "docker"].includes(wanted)) {
    throw new Error(`--builder ${wanted}: use buildah, podman or docker`);
  }
  const found = builders.find(has);
  if (!found) {
    throw new Error(
      `no image builder: install buildah or podman (Debian: apt-get install buildah podman) or Docker${wanted ? ` (asked for ${wanted})` : ""}`,
    );
  }
  return found;
};

/**
 * Why this Docker cannot build the image, or undefined when it can. It needs
 * BuildKit through buildx (named contexts for the host's parts, the
 * Dockerfile's own .dockerignore) on Engine 23 or later (whose built-in
 * Dockerfile frontend reads named contexts), and Engine 25 or later for
 * `docker save` to write an OCI archive. `buildx`: `docker buildx version`'s
 * exit status; `server`: `docker version --format {{.Server.Version}}`'s output.
 */
export const dockerProblem = ({ buildx, server }) => {
  const fix =
    "install Docker Engine 25 or later with the buildx plugin (Docker's docker-ce and docker-buildx-plugin packages; " +
    "Debian 12's docker.io is 20.10 without it), or build with buildah or podman (Debian: apt-get install buildah)";
  if (buildx !== 0)
    return `docker: building this image needs BuildKit (docker buildx), which is missing: ${fix}`;
  const major = Number(/^(\d+)\./.exec(String(server ?? "").trim())?.[1]);
  if (!Number.isFinite(major))
    return `docker: could not read the Docker Engine's version (is the daemon running?): ${fix}`;
  if (major < 25) {
    return `docker: Docker Engine ${String(server).trim()} is too old (named build contexts need 23, an OCI archive from docker save 25): ${fix}`;
  }
  return undefined;
};

/** The stanzas of `apt-cache show`'s output: Package, Version, SHA256 of each. */
export const parseAptShow = (text) =>
  text
    .split(/\n\s*\n/)
    .map((stanza) =>
      Object.fromEntries([...stanza.matchAll(/^([\w-]+): (.*)$/gm)].map((m) => [m[1], m[2].trim()])),
    )
    .filter((s) => s.Package);

/**
 * Whether the host assembles the parts (no registry contacted), or the
 * builder does in the Dockerfile's assemble stage (node:24-bookworm-slim from
 * Docker Hub), and why not the host. The host needs Linux on the image's
 * architecture, apt-get and dpkg-deb, and every pinned .deb obtainable: in the
 * download cache with its SHA-256, or known to apt at that version and SHA-256
 * (`aptShow(["name=version", …])`: what `apt-cache show` prints for them; one
 * call, as apt-cache takes seconds on a loaded machine). On Ubuntu, on Debian
 * 13, or once a bookworm point release has replaced a pinned version, apt does
 * not have it.
 */
export const partsSource = ({ platform, arch, tools, dpkgArch, pins, cached, aptShow }) => {
  const builder = (reason) => ({ host: false, reason });
  if (platform !== "linux" || arch !== "x64") {
    return builder(`the parts are assembled on the host only on Linux x64 (this is ${platform} ${arch})`);
  }
  const missing = ["apt-get", "dpkg-deb"].filter((t) => !tools.includes(t));
  if (missing.length > 0) return builder(`no ${missing.join(" or ")} here (not Debian)`);
  if (dpkgArch !== pins.architecture) {
    return builder(`dpkg's architecture is ${dpkgArch}, the pinned packages' ${pins.architecture}`);
  }
  const wanted = pins.packages.filter((p) => !cached.has(p.name));
  if (wanted.length === 0) return { host: true };
  const stanzas = parseAptShow(aptShow(wanted.map((p) => `${p.name}=${p.version}`)) ?? "");
  for (const p of wanted) {
    const same = stanzas.filter((s) => s.Package === p.name && s.Version === p.version);
    if (same.length === 0) {
      return builder(
        `apt knows no ${p.name}=${p.version} (pinned in examples/image/debian.json): this is not Debian ${pins.suite}, ` +
          `its indexes are stale (apt-get update), or Debian has replaced that version ` +
          `(snapshot.debian.org keeps it: put the .deb in .cache/debian/ and it is used, SHA-256 checked)`,
      );
    }
    if (!same.some((s) => s.SHA256 === p.sha256)) {
      return builder(
        `apt's ${p.name}=${p.version} has SHA-256 ${same[0].SHA256}, not the ${p.sha256} examples/image/debian.json pins`,
      );
    }
  }
  return { host: true };
};

/**
 * The tag a checkout builds to: the inputs and the checkout's own output
 * directory, so no other checkout (or test run with its own directory) ever
 * moves or removes it. The version's shared name is tagged only afterwards.
 */
export const checkoutTag = (out, inputs) =>
  `localhost/credbridge-build:${inputs.slice(0, 16)}-${createHash("sha256").update(out).digest("hex").slice(0, 8)}`;

/** Whether `tag` is one {@link checkoutTag} made for `out` (and so this checkout's to remove). */
export const isCheckoutTag = (out, tag) =>
  typeof tag === "string" &&
  tag.startsWith("localhost/credbridge-build:") &&
  tag === checkoutTag(out, tag.split(":")[1]);

/**
 * The builder's command line. One tag (the checkout's), the image ID to
 * `iidfile`, the image's platform always; the commit's time for every
 * timestamp (buildah's --timestamp; BuildKit's SOURCE_DATE_EPOCH), so the same
 * commit builds the same image ID (usually: see the README's image section). buildah builds without --layers: no
 * intermediate images are left, and the Dockerfile makes its two layers from
 * two stages.
 */
export const buildCommand = ({
  builder,
  dockerfile,
  context,
  parts,
  tag,
  iidfile,
  version,
  revision,
  epoch,
  ignorefile,
}) => {
  const args = [
    "--platform",
    PLATFORM,
    "--build-arg",
    `VERSION=${version}`,
    "--build-arg",
    `REVISION=${revision}`,
    "--build-arg",
    `SOURCE_DATE_EPOCH=${epoch}`,
    "--iidfile",
    iidfile,
    "-f",
    dockerfile,
    "-t",
    tag,
  ];
  const named = parts ? ["--build-context", `parts=${parts}`] : [];
  if (builder === "docker") {
    // --load: into the daemon's images whatever buildx's driver; no provenance
    // attestation (it records the build's own time, and its manifest would sit
    // beside the image's in the archive).
    return [
      "docker",
      ["buildx", "build", "--load", "--provenance=false", ...named, ...args, parts ?? context],
    ];
  }
  // --no-cache: buildah 1.28 reused a cached LABEL step whose ARG had changed.
  const ignore = parts ? [] : ["--ignorefile", ignorefile];
  return [
    builder,
    [
      builder === "buildah" ? "bud" : "build",
      "--no-cache",
      "--timestamp",
      String(epoch),
      ...ignore,
      ...named,
      ...args,
      parts ?? context,
    ],
  ];
};
