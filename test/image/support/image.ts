import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { run } from "../../support/run.js";
import { lastJsonLine } from "../../writer/helpers.js";

export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const BUILD = `${REPO}scripts/image.mjs`;

/** What scripts/image.mjs reports (dist/image/build.json). */
export interface BuiltImage {
  /** The digest of everything the image is built from. */
  inputs: string;
  /** Its parts' digests (the base and the app trees assembled on the host, or the builder's context). */
  content: Record<string, string>;
  /** The image ID in the builder's storage ("sha256:…"). */
  id: string;
  /** The config's digest ("sha256:…"): what the OCI archive holds. */
  config: string;
  /** This checkout's tag for exactly these inputs: what the tests run. */
  image: string;
  /** ghcr.io/credbridge/credbridge:<version>, as users get it. */
  name: string;
  archive: string;
  version: string;
  revision: string;
  builder: string;
  parts: "host" | "builder";
  /** Why the builder assembled the parts, when it did. */
  partsReason?: string;
  built: boolean;
  seconds: number;
  compressed: number;
  uncompressed: number;
}

/** Runs scripts/image.mjs (build when the inputs changed, else nothing) and returns its report. */
export const buildImage = async (env: NodeJS.ProcessEnv = process.env): Promise<BuiltImage> => {
  const r = await run(process.execPath, [BUILD, "--json"], { cwd: REPO, env });
  if (r.code !== 0) {
    throw new Error(
      `scripts/image.mjs failed (${r.code}): the image must build for these tests\n${r.stderr}`,
    );
  }
  return lastJsonLine(r.stdout) as BuiltImage;
};

let memo: Promise<BuiltImage> | undefined;
/** The image, built once per test process (and, through its cache, once per set of inputs). */
export const theImage = (): Promise<BuiltImage> => {
  memo ??= buildImage();
  return memo;
};

export const cliVersion = (): string =>
  (JSON.parse(readFileSync(`${REPO}packages/cli/package.json`, "utf8")) as { version: string }).version;

const exec = promisify(execFile);

/**
 * `podman ARGS` as root with runc: crun refuses this machine's hybrid cgroups.
 * Fails, naming the package, when podman is missing: these tests never pass without it.
 */
export const podman = async (args: string[], options: { timeoutMs?: number } = {}) => {
  try {
    return await exec("podman", ["--runtime", "runc", ...args], {
      maxBuffer: 64 * 2 ** 20,
      timeout: options.timeoutMs ?? 120_000,
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") throw new Error("podman is not installed (apt-get install podman runc)");
    throw new Error(`podman ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
};

/** `podman ARGS` to completion, whatever its exit code. */
export const podmanExit = (args: string[]) =>
  run("podman", ["--runtime", "runc", ...args], {
    timeoutMs: 120_000,
    name: `podman ${args.join(" ")}`,
    missing: "apt-get install podman runc",
  });

/** `skopeo ARGS`; fails, naming the package, when skopeo is missing. */
export const skopeo = async (args: string[]) => {
  try {
    return await exec("skopeo", args, { maxBuffer: 64 * 2 ** 20, timeout: 120_000 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") throw new Error("skopeo is not installed (apt-get install skopeo)");
    throw new Error(`skopeo ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
};

/**
 * Resource limits every `podman run` sets: on this machine runc refuses the
 * nproc limit podman asks for by default, and podman needs nofile given.
 */
export const LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"];
