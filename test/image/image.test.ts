/**
 * The image scripts/image.mjs builds from examples/image: its configuration,
 * what is in it (and what is not: a shell, a package manager, a writable or
 * set-id file), what a process inside it finds, every command through the
 * entrypoint, the OCI archive users get, and the build's cache and lock.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { chmod, copyFile, cp, mkdtemp, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BuiltImage,
  buildImage,
  cliVersion,
  LIMITS,
  podman,
  podmanExit,
  REPO,
  skopeo,
  theImage,
} from "./support/image.js";
import { credbridgeContainer, podOf, securityFlags } from "./support/pod.js";

const nodePins = JSON.parse(readFileSync(join(REPO, "scripts/node.json"), "utf8")) as {
  image: string;
  releases: Record<string, { version: string; binarySha256: Record<string, string> }>;
};

let image: BuiltImage;
let mounted: string;

interface Entry {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  kind: "file" | "dir" | "link";
  target?: string;
}
let entries: Entry[] = [];

const walk = (root: string, dir = ""): Entry[] =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    const st = lstatSync(join(root, path));
    const kind = st.isSymbolicLink() ? "link" : st.isDirectory() ? "dir" : "file";
    const entry: Entry = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, kind };
    if (kind === "link") entry.target = readlinkSync(join(root, path));
    return kind === "dir" ? [entry, ...walk(root, path)] : [entry];
  });

beforeAll(async () => {
  image = await theImage();
  mounted = (await podman(["image", "mount", image.image])).stdout.trim();
  entries = walk(mounted);
}, 900_000);

afterAll(async () => {
  if (mounted) await podman(["image", "unmount", image.image]).catch(() => undefined);
});

const run = (args: string[], flags: string[] = []) =>
  podman(["run", "--rm", ...LIMITS, "--network", "none", ...flags, image.image, ...args]);

describe("the image's configuration", () => {
  it("runs `credbridge serve` as 65532, is labelled with its source, version, revision and licences", async () => {
    const [config] = JSON.parse((await podman(["image", "inspect", image.image])).stdout) as {
      Config: { User: string; Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string> };
    }[];
    expect(config!.Config).toMatchObject({
      User: "65532:65532",
      Entrypoint: ["/usr/local/bin/credbridge"],
      Cmd: ["serve"],
    });
    expect(config!.Config.Labels).toMatchObject({
      "org.opencontainers.image.source": "https://github.com/credbridge/credbridge",
      "org.opencontainers.image.version": cliVersion(),
      "org.opencontainers.image.revision": image.revision,
      "org.opencontainers.image.licenses": expect.stringMatching(/^Apache-2\.0 AND /),
    });
    expect(image.revision).toMatch(/^[0-9a-f]{40}$|^unknown$/);
    expect(image.name).toBe(`ghcr.io/credbridge/credbridge:${cliVersion()}`);
  });
});

describe("what is in the image", () => {
  it("holds Node, the libraries it links, the CLI, and nothing that could run a shell or install a package", () => {
    const files = entries.filter((e) => e.kind !== "dir").map((e) => e.path);
    const names = new Set(files.map((f) => f.split("/").at(-1)!));
    for (const absent of [
      "sh",
      "bash",
      "dash",
      "ash",
      "busybox",
      "apt",
      "apt-get",
      "dpkg",
      "npm",
      "npx",
      "corepack",
      "pnpm",
      "yarn",
      "su",
      "sudo",
      "env",
    ]) {
      expect(names.has(absent), absent).toBe(false);
    }
    expect(files.filter((f) => f.includes("node_modules"))).toEqual([]);
    // Every executable file: node, the dynamic loader, libc (executable in Debian's package) and the CLI's two launchers.
    const executable = entries.filter((e) => e.kind === "file" && e.mode & 0o111).map((e) => e.path);
    expect(executable.sort()).toEqual(
      [
        "/usr/local/bin/node",
        "/usr/local/bin/credbridge",
        "/app/bin/credbridge.cjs",
        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "/lib/x86_64-linux-gnu/libc.so.6",
      ].sort(),
    );
    expect(new Set(files.map((f) => f.split("/")[1]))).toEqual(
      new Set(["app", "etc", "lib", "lib64", "usr", "var"]),
    );
  });

  it("is owned by root, with nothing writable by others and no set-id bits", () => {
    expect(entries.length).toBeGreaterThan(20);
    for (const e of entries) {
      expect({ path: e.path, uid: e.uid, gid: e.gid }).toEqual({ path: e.path, uid: 0, gid: 0 });
      if (e.kind !== "link") {
        expect({ path: e.path, writableByOthers: (e.mode & 0o022) !== 0 }).toEqual({
          path: e.path,
          writableByOthers: false,
        });
        expect({ path: e.path, setId: (e.mode & 0o7000) !== 0 }).toEqual({ path: e.path, setId: false });
      }
    }
  });

  it("carries the Node release scripts/node.json pins for the image, its licence, and each Debian package's copyright", async () => {
    const { stdout } = await run(["--version"], ["--entrypoint", "/usr/local/bin/node"]);
    expect(stdout.trim()).toBe(`v${nodePins.releases[nodePins.image]!.version}`);
    // The official binary itself, byte for byte: comparable with nodejs.org's tarball.
    const sha = (await promisify(execFile)("sha256sum", [join(mounted, "usr/local/bin/node")])).stdout.split(
      " ",
    )[0];
    expect(sha).toBe(nodePins.releases[nodePins.image]!.binarySha256["linux-x64"]);
    const paths = new Set(entries.map((e) => e.path));
    expect(paths.has("/usr/local/share/doc/node/LICENSE")).toBe(true);
    const packages = readdirSync(join(mounted, "var/lib/dpkg/status.d"));
    expect(packages).toEqual(expect.arrayContaining(["libc6", "libstdc++6", "libgcc-s1", "ca-certificates"]));
    for (const p of packages) {
      const status = readFileSync(join(mounted, "var/lib/dpkg/status.d", p), "utf8");
      expect(status).toMatch(
        new RegExp(`^Package: ${p.replace(/\+/g, "\\+")}\nStatus: install ok installed\n`),
      );
      expect(readFileSync(join(mounted, "usr/share/doc", p, "copyright"), "utf8").length).toBeGreaterThan(0);
    }
    expect(readFileSync(join(mounted, "etc/ssl/certs/ca-certificates.crt"), "utf8")).toMatch(
      /^-----BEGIN CERTIFICATE-----\n/,
    );
  });
});

describe("a process inside the image, run as the manifests run it", () => {
  const pod = podOf("irsa/harbor-registry.yaml");
  const flags = () => securityFlags(pod, credbridgeContainer(pod));

  it("finds no shell to start, and no path it can write outside /dev, /proc and /sys", async () => {
    // What code in the container (a dependency gone bad, say) could try: the
    // only interpreter is node itself.
    const probe = `
      const fs = require("node:fs");
      const { spawnSync } = require("node:child_process");
      const writable = [];
      const walk = (dir) => {
        for (const name of fs.readdirSync(dir)) {
          const path = (dir === "/" ? "" : dir) + "/" + name;
          if (["/proc", "/sys", "/dev"].includes(path)) continue;
          try { fs.accessSync(path, fs.constants.W_OK); writable.push(path); } catch {}
          if (fs.lstatSync(path).isDirectory()) walk(path);
        }
      };
      walk("/");
      let write;
      try { fs.writeFileSync("/app/x", "x"); write = "written"; } catch (e) { write = e.code; }
      const shells = ["/bin/sh", "/bin/bash", "/usr/bin/env", "sh"].map((s) => spawnSync(s, ["-c", "id"]).error?.code ?? "ran");
      console.log(JSON.stringify({ uid: process.getuid(), writable, write, shells }));`;
    const { stdout } = await run(["-e", probe], [...flags(), "--entrypoint", "/usr/local/bin/node"]);
    expect(JSON.parse(stdout)).toEqual({
      uid: 65532,
      writable: [],
      write: "EROFS",
      shells: ["ENOENT", "ENOENT", "ENOENT", "ENOENT"],
    });
  });

  it("runs every command through the entrypoint", async () => {
    expect((await run(["--version"], flags())).stdout.trim()).toBe(cliVersion());
    const commands = ["serve", "webhook", "process", "doctor", "write", "trust-policy", "permission-policy"];
    const helps = await Promise.all(commands.map((command) => run([command, "--help"], flags())));
    commands.forEach((command, i) => {
      expect(helps[i]!.stdout, command).toMatch(new RegExp(`credbridge ${command}`));
    });
    // doctor with nothing set: the SDK's default chain, loaded from the bundle, finds nothing and says so.
    const doctor = await podmanExit([
      "run",
      "--rm",
      ...LIMITS,
      "--network",
      "none",
      ...flags(),
      image.image,
      "doctor",
    ]);
    expect(doctor.stdout).toMatch(/^source: default /m);
    expect(doctor.stdout).toMatch(/^chain:\n/m);
    expect(doctor.code).not.toBe(0);
    const policy = await run(
      [
        "trust-policy",
        "--irsa",
        "--oidc-issuer",
        "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
        "--account-id",
        "111122223333",
        "--namespace",
        "harbor",
        "--service-account",
        "harbor-registry",
      ],
      flags(),
    );
    expect(JSON.parse(policy.stdout).Statement[0].Action).toBe("sts:AssumeRoleWithWebIdentity");
  });
});

describe("the OCI archive", () => {
  it("holds the same image (config digest), named ghcr.io/credbridge/credbridge:<version>, and podman runs it", async () => {
    const [stored] = JSON.parse((await podman(["image", "inspect", image.image])).stdout) as { Id: string }[];
    const manifest = JSON.parse(
      (await skopeo(["inspect", "--raw", `oci-archive:${image.archive}`])).stdout,
    ) as {
      config: { digest: string };
      layers: { mediaType: string }[];
    };
    expect(manifest.config.digest).toBe(`sha256:${stored!.Id}`);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+gzip",
    ]);
    const index = JSON.parse(
      (await promisify(execFile)("tar", ["-xOf", image.archive, "index.json"])).stdout,
    ) as { manifests: { annotations?: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"])).toEqual([
      image.name,
    ]);
    const fromArchive = await podman([
      "run",
      "--rm",
      ...LIMITS,
      "--network",
      "none",
      `oci-archive:${image.archive}`,
      "--version",
    ]);
    expect(fromArchive.stdout.trim()).toBe(cliVersion());
  });
});

describe("the build", () => {
  it("is not repeated for the same inputs, and waits for a build in progress instead of racing it", async () => {
    expect((await buildImage()).built).toBe(false);
    // Another run holds the build's lock (flock, as scripts/image.mjs takes it) for a while.
    const holder = spawn("flock", [join(dirname(image.archive), ".lock"), "-c", "echo held; sleep 2"]);
    await new Promise<void>((resolve, reject) => {
      holder.on("error", (e) => reject(new Error(`flock could not run (util-linux): ${e.message}`)));
      holder.stdout.once("data", () => resolve());
    });
    const released = new Promise<number>((resolve) => holder.on("close", () => resolve(performance.now())));
    const second = await buildImage();
    const finished = performance.now();
    expect(finished).toBeGreaterThanOrEqual(await released);
    expect(second).toMatchObject({ built: false, image: image.image });
  });
});

describe("builds in two checkouts sharing the builder's storage", () => {
  /** What a checkout's tag in the storage and its archive hold: compared with its record and the revision it built. */
  const consistent = async (built: BuiltImage) => {
    const [stored] = JSON.parse((await podman(["image", "inspect", built.image])).stdout) as {
      Id: string;
      Config: { Labels: Record<string, string> };
    }[];
    const manifest = JSON.parse(
      (await skopeo(["inspect", "--raw", `oci-archive:${built.archive}`])).stdout,
    ) as {
      config: { digest: string };
    };
    return {
      tag: `sha256:${stored!.Id}`,
      revision: stored!.Config.Labels["org.opencontainers.image.revision"],
      archive: manifest.config.digest,
    };
  };
  const labelled = async (revision: string) =>
    (
      await podman([
        "images",
        "--all",
        "--quiet",
        "--filter",
        `label=org.opencontainers.image.revision=${revision}`,
      ])
    ).stdout.trim();

  it("tag and archive what each records, never share or remove the other's tag, repair a moved tag or a replaced archive, and leave no image behind", async () => {
    const outA = await mkdtemp(join(tmpdir(), "credbridge-image-a-"));
    const outB = await mkdtemp(join(tmpdir(), "credbridge-image-b-"));
    const x = randomBytes(20).toString("hex");
    const y = randomBytes(20).toString("hex");
    const env = (out: string, revision: string) => ({
      ...process.env,
      CREDBRIDGE_IMAGE_OUT: out,
      CREDBRIDGE_IMAGE_REVISION: revision,
    });
    const tags: string[] = [];
    try {
      // A twice at once (the second waits on A's lock, then finds it built), B at once at another revision.
      const [a1, a2, b1] = await Promise.all([
        buildImage(env(outA, x)),
        buildImage(env(outA, x)),
        buildImage(env(outB, y)),
      ]);
      tags.push(a1.image, b1.image);
      expect([a1.built, a2.built].sort()).toEqual([false, true]);
      expect(a2).toMatchObject({ image: a1.image, id: a1.id });
      expect(b1.built).toBe(true);
      expect(await consistent(a1)).toEqual({ tag: a1.id, revision: x, archive: a1.config });
      expect(await consistent(b1)).toEqual({ tag: b1.id, revision: y, archive: b1.config });

      // B moves to A's revision: the same inputs, yet a tag of its own; A's stays.
      const b2 = await buildImage(env(outB, x));
      tags.push(b2.image);
      expect(b2.built).toBe(true);
      expect(b2.image).not.toBe(a1.image);
      expect(await consistent(b2)).toEqual({ tag: b2.id, revision: x, archive: b2.config });
      expect(await consistent(a1)).toEqual({ tag: a1.id, revision: x, archive: a1.config });
      // The same commit builds from the same inputs, part for part, in any checkout. Not always to
      // the same image ID: buildah 1.28 gave two IDs for identical parts in 2 of 6 clean-clone runs
      // (builds running side by side), so the ID is not what this asserts (the README says so).
      expect(b2.content).toEqual(a1.content);
      expect(b2.inputs).toBe(a1.inputs);
      // B's image of revision y went with its tag: no intermediate or untagged image of it stays.
      expect(await labelled(y)).toBe("");

      // A's tag moved to another image (what concurrent builds used to do): A names its own again.
      await podman(["tag", image.image, a1.image]);
      const a3 = await buildImage(env(outA, x));
      expect(a3).toMatchObject({ built: false, id: a1.id });
      expect(await consistent(a1)).toEqual({ tag: a1.id, revision: x, archive: a1.config });
      // A's archive replaced by another image's: written again from A's image.
      await copyFile(image.archive, a1.archive);
      expect(await buildImage(env(outA, x))).toMatchObject({ built: false, id: a1.id });
      expect(await consistent(a1)).toEqual({ tag: a1.id, revision: x, archive: a1.config });
    } finally {
      // The version's name back on this checkout's image (a cache hit), then the test's tags: nothing of x or y stays.
      await buildImage();
      for (const tag of tags) await podman(["rmi", tag]).catch(() => undefined);
      await rm(outA, { recursive: true, force: true });
      await rm(outB, { recursive: true, force: true });
    }
    expect(await labelled(x)).toBe("");
    expect(await labelled(y)).toBe("");
  }, 900_000);
});

describe("what the build is keyed on", () => {
  it("is what the image holds: the host's parts, byte for byte, the bundle inlining every package it uses", async () => {
    const parts = join(dirname(image.archive), "parts");
    const inputs = (await import(pathToFileURL(join(REPO, "scripts/image-inputs.mjs")).href)) as {
      treeDigest: (dir: string, o?: { skip?: (path: string) => boolean }) => string;
    };
    expect(image.parts).toBe("host");
    expect(inputs.treeDigest(join(mounted, "app"))).toBe(inputs.treeDigest(join(parts, "app")));
    expect(inputs.treeDigest(mounted, { skip: (path) => path === "app" })).toBe(
      inputs.treeDigest(join(parts, "base")),
    );
    // The workspace packages and the AWS SDK are in the bundle's bytes: it requires Node's builtins and its own chunks only.
    const bundle = join(parts, "app/bundle");
    const required = readdirSync(bundle).flatMap((f) =>
      [...readFileSync(join(bundle, f), "utf8").matchAll(/(?<![\w.[])(?:require|import)\("([^"]+)"\)/g)].map(
        (m) => m[1]!,
      ),
    );
    expect(required.filter((r) => r.startsWith("./")).length).toBeGreaterThan(0);
    expect(required.filter((r) => !isBuiltin(r) && !r.startsWith("./"))).toEqual([]);
  });

  it("changes with any byte, mode or link in the parts, not with their times", async () => {
    const { treeDigest } = (await import(pathToFileURL(join(REPO, "scripts/image-inputs.mjs")).href)) as {
      treeDigest: (dir: string) => string;
    };
    const dir = await mkdtemp(join(tmpdir(), "credbridge-image-key-"));
    try {
      await cp(join(dirname(image.archive), "parts/app"), dir, { recursive: true });
      const chunk = join(dir, "bundle", readdirSync(join(dir, "bundle")).find((f) => f.endsWith(".cjs"))!);
      const before = treeDigest(dir);
      await utimes(chunk, 1, 1);
      expect(treeDigest(dir)).toBe(before);
      const text = await readFile(chunk);
      await writeFile(chunk, Buffer.concat([text.subarray(0, -1), Buffer.from([text.at(-1)! ^ 1])]));
      const flipped = treeDigest(dir);
      expect(flipped).not.toBe(before);
      await writeFile(chunk, text);
      expect(treeDigest(dir)).toBe(before);
      await chmod(chunk, 0o600);
      expect(treeDigest(dir)).not.toBe(before);
      await chmod(chunk, 0o644);
      await symlink("bundle", join(dir, "link"));
      expect(treeDigest(dir)).not.toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
