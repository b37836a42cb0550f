/**
 * What scripts/image.mjs decides before it builds (scripts/image-plan.mjs),
 * fed what other machines report: a Docker without BuildKit or too old, a
 * Debian whose apt no longer has a pinned version (or Ubuntu, or arm64), and
 * this machine's own apt-cache; the builder's command line; the tag each
 * checkout builds to. Then scripts/image.mjs itself with Debian 12's Docker
 * (20.10, no buildx) first on PATH, as a user's machine would have it.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { REPO } from "./support/image.js";

interface Pins {
  suite: string;
  architecture: string;
  packages: { name: string; version: string; sha256: string }[];
}
type Where = { host: true } | { host: false; reason: string };
const plan = (await import(pathToFileURL(join(REPO, "scripts/image-plan.mjs")).href)) as {
  PLATFORM: string;
  chooseBuilder: (wanted: string | undefined, has: (cmd: string) => boolean) => string;
  dockerProblem: (probe: { buildx: number | null; server: string | undefined }) => string | undefined;
  parseAptShow: (text: string) => Record<string, string>[];
  partsSource: (facts: {
    platform: string;
    arch: string;
    tools: string[];
    dpkgArch: string | undefined;
    pins: Pins;
    cached: Set<string>;
    aptShow: (specs: string[]) => string | undefined;
  }) => Where;
  checkoutTag: (out: string, inputs: string) => string;
  isCheckoutTag: (out: string, tag: string) => boolean;
  buildCommand: (o: Record<string, unknown>) => [string, string[]];
};
const assembler = (await import(pathToFileURL(join(REPO, "examples/image/assemble.mjs")).href)) as {
  checkArchitecture: (arch: string) => void;
  assembleBase: (o: { out: string; work: string; arch: string }) => void;
};
const inputs = (await import(pathToFileURL(join(REPO, "scripts/image-inputs.mjs")).href)) as {
  contextSources: (dockerfile: string) => string[];
  contextDigest: (root: string, dockerfile: string, ignore: string) => string;
};
const pins = JSON.parse(readFileSync(join(REPO, "examples/image/debian.json"), "utf8")) as Pins;

/** What `apt-cache show NAME=VERSION` prints for a pin, as apt 2.6 on bookworm prints it. */
const stanza = (p: Pins["packages"][number], sha256 = p.sha256) =>
  `Package: ${p.name}\nVersion: ${p.version}\nArchitecture: ${pins.architecture}\nSHA256: ${sha256}\nDescription: x\n`;

const debian = {
  platform: "linux",
  arch: "x64",
  tools: ["apt-get", "dpkg-deb"],
  dpkgArch: "amd64",
  pins,
  cached: new Set<string>(),
  aptShow: (specs: string[]) =>
    specs.map((s) => stanza(pins.packages.find((p) => s === `${p.name}=${p.version}`)!)).join("\n"),
};
/** apt's answer for `specs` without libc6's stanza: apt-cache show prints nothing for a version it does not know. */
const withoutLibc = (specs: string[]) => debian.aptShow(specs.filter((s) => !s.startsWith("libc6=")));

describe("where the parts come from", () => {
  it("the host, on Debian amd64 when apt has every pinned version with its SHA-256, or the download cache has it", () => {
    expect(plan.partsSource(debian)).toEqual({ host: true });
    // Nothing asked of apt for what the cache holds.
    expect(
      plan.partsSource({
        ...debian,
        cached: new Set(pins.packages.map((p) => p.name)),
        aptShow: () => undefined,
      }),
    ).toEqual({ host: true });
  });

  it("the builder, saying why, when apt no longer has a pinned version (a bookworm point release, Debian 13, Ubuntu)", () => {
    const libc = pins.packages.find((p) => p.name === "libc6")!;
    // apt-cache show NAME=VERSION prints nothing (exit 0) for a version it does not know.
    const asked: string[][] = [];
    const where = plan.partsSource({
      ...debian,
      aptShow: (specs) => {
        asked.push(specs);
        return withoutLibc(specs);
      },
    });
    expect(asked, "one apt-cache call for every pin").toEqual([
      pins.packages.map((p) => `${p.name}=${p.version}`),
    ]);
    expect(where.host).toBe(false);
    expect((where as { reason: string }).reason).toContain(
      `apt knows no libc6=${libc.version} (pinned in examples/image/debian.json)`,
    );
    expect((where as { reason: string }).reason).toContain("snapshot.debian.org");
    // A package apt does not know at all: apt-cache fails.
    expect(plan.partsSource({ ...debian, aptShow: () => undefined }).host).toBe(false);
    // The same version with another SHA-256 would be refused by assemble.mjs: not the host either.
    const other = plan.partsSource({
      ...debian,
      aptShow: (specs) =>
        specs
          .map((s) => stanza(pins.packages.find((p) => s === `${p.name}=${p.version}`)!, "0".repeat(64)))
          .join("\n"),
    });
    expect((other as { reason: string }).reason).toMatch(
      /has SHA-256 0{64}, not the [0-9a-f]{64} examples\/image\/debian\.json pins/,
    );
  });

  it("the builder on another architecture, another system, or without Debian's tools", () => {
    expect(plan.partsSource({ ...debian, arch: "arm64" })).toEqual({
      host: false,
      reason: "the parts are assembled on the host only on Linux x64 (this is linux arm64)",
    });
    expect(plan.partsSource({ ...debian, platform: "darwin" }).host).toBe(false);
    expect(plan.partsSource({ ...debian, tools: ["dpkg-deb"] })).toEqual({
      host: false,
      reason: "no apt-get here (not Debian)",
    });
    expect((plan.partsSource({ ...debian, dpkgArch: "i386" }) as { reason: string }).reason).toBe(
      "dpkg's architecture is i386, the pinned packages' amd64",
    );
  });

  it("reads this machine's own apt-cache: every pin known at its version and SHA-256, a replaced version not", () => {
    const aptShow = (specs: string[]) => {
      const r = spawnSync("apt-cache", ["show", ...specs], { encoding: "utf8" });
      if (r.error)
        throw new Error(`apt-cache could not run (this test needs Debian's apt): ${r.error.message}`);
      return r.status === 0 ? r.stdout : undefined;
    };
    expect(plan.partsSource({ ...debian, aptShow })).toEqual({ host: true });
    const replaced = {
      ...pins,
      packages: pins.packages.map((p) => (p.name === "libc6" ? { ...p, version: "2.36-9+deb12u9999" } : p)),
    };
    const where = plan.partsSource({ ...debian, pins: replaced, aptShow });
    expect((where as { reason: string }).reason).toContain("apt knows no libc6=2.36-9+deb12u9999");
  });
});

describe("assemble.mjs on another architecture", () => {
  it("refuses before downloading anything, naming --platform linux/amd64", async () => {
    expect(() => assembler.checkArchitecture("amd64")).not.toThrow();
    const tmp = await tempDir("credbridge-assemble-arch-");
    try {
      expect(() =>
        assembler.assembleBase({ out: tmp.path("base"), work: tmp.path("work"), arch: "arm64" }),
      ).toThrow(
        "the image is linux/amd64 and its parts are assembled on amd64 only (dpkg here: arm64): build with --platform linux/amd64",
      );
      expect(spawnSync("ls", ["-A", tmp.dir], { encoding: "utf8" }).stdout).toBe("");
    } finally {
      await tmp.cleanup();
    }
  });
});

describe("Docker", () => {
  it("builds only with BuildKit (buildx) on Engine 25 or later, and says what to install otherwise", () => {
    expect(plan.dockerProblem({ buildx: 0, server: "27.3.1\n" })).toBeUndefined();
    expect(plan.dockerProblem({ buildx: 0, server: "25.0.0" })).toBeUndefined();
    const bookworm = plan.dockerProblem({ buildx: 1, server: "20.10.24+dfsg1\n" });
    expect(bookworm).toMatch(
      /^docker: building this image needs BuildKit \(docker buildx\), which is missing: /,
    );
    expect(bookworm).toContain("docker-buildx-plugin");
    expect(bookworm).toContain("apt-get install buildah");
    expect(plan.dockerProblem({ buildx: 0, server: "24.0.7" })).toMatch(
      /^docker: Docker Engine 24\.0\.7 is too old \(named build contexts need 23, an OCI archive from docker save 25\)/,
    );
    expect(plan.dockerProblem({ buildx: 0, server: "" })).toMatch(
      /could not read the Docker Engine's version/,
    );
  });
});

describe("the builder's command line", () => {
  const common = {
    dockerfile: "/r/examples/image/Dockerfile",
    context: "/r",
    ignorefile: "/r/examples/image/Dockerfile.dockerignore",
    tag: "localhost/credbridge-build:0123456789abcdef-01234567",
    iidfile: "/r/dist/image/iid.1",
    version: "0.1.0",
    revision: "f".repeat(40),
    epoch: 1765000000,
  };
  const value = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

  it("builds for linux/amd64, to one tag of the checkout's own, its ID to a file, every time the commit's", () => {
    for (const builder of ["buildah", "podman", "docker"]) {
      for (const parts of ["/r/dist/image/parts", undefined]) {
        const [cmd, args] = plan.buildCommand({ ...common, builder, parts });
        expect(cmd).toBe(builder);
        expect(value(args, "--platform")).toEqual(["linux/amd64"]);
        expect(value(args, "-t")).toEqual([common.tag]);
        expect(value(args, "--iidfile")).toEqual([common.iidfile]);
        expect(value(args, "--build-arg")).toEqual([
          "VERSION=0.1.0",
          `REVISION=${common.revision}`,
          `SOURCE_DATE_EPOCH=${common.epoch}`,
        ]);
        expect(value(args, "--build-context")).toEqual(parts ? [`parts=${parts}`] : []);
        expect(args.at(-1)).toBe(parts ?? "/r");
        expect(args).not.toContain("--layers");
        if (builder === "docker") {
          expect(args.slice(0, 4)).toEqual(["buildx", "build", "--load", "--provenance=false"]);
        } else {
          expect(value(args, "--timestamp")).toEqual([String(common.epoch)]);
          expect(value(args, "--ignorefile")).toEqual(parts ? [] : [common.ignorefile]);
        }
      }
    }
  });

  it("tags each checkout's build apart: the same inputs in two output directories never share a tag", () => {
    const inputs = "a".repeat(64);
    const a = plan.checkoutTag("/work/a/dist/image", inputs);
    const b = plan.checkoutTag("/work/b/dist/image", inputs);
    expect(a).toMatch(/^localhost\/credbridge-build:a{16}-[0-9a-f]{8}$/);
    expect(b).not.toBe(a);
    expect(plan.isCheckoutTag("/work/a/dist/image", a)).toBe(true);
    expect(plan.isCheckoutTag("/work/b/dist/image", a)).toBe(false);
    // What builds named before: shared by every checkout at the same inputs, never removed by one.
    expect(plan.isCheckoutTag("/work/a/dist/image", `localhost/credbridge-build:${"a".repeat(16)}`)).toBe(
      false,
    );
    expect(plan.isCheckoutTag("/work/a/dist/image", "ghcr.io/credbridge/credbridge:0.1.0")).toBe(false);
  });

  it("chooses buildah, then podman, then docker, and names what to install when there is none", () => {
    expect(plan.chooseBuilder(undefined, (c) => c !== "buildah")).toBe("podman");
    expect(plan.chooseBuilder("docker", () => true)).toBe("docker");
    expect(() => plan.chooseBuilder(undefined, () => false)).toThrow(/apt-get install buildah podman/);
    expect(() => plan.chooseBuilder("kaniko", () => true)).toThrow(
      "--builder kaniko: use buildah, podman or docker",
    );
  });
});

describe("npm run image with Debian 12's Docker (20.10, no buildx) and no buildah or podman", () => {
  it("stops before building, naming BuildKit and what to install", async () => {
    const tmp = await tempDir("credbridge-image-docker-");
    try {
      // Docker 20.10's CLI as a user's machine has it: no buildx plugin, and its
      // own `docker build` refuses --build-context. Every call is logged.
      mkdirSync(tmp.path("bin"));
      const docker = tmp.path("bin/docker");
      writeFileSync(
        docker,
        `#!/bin/sh
echo "$*" >> ${tmp.path("calls")}
case "$1" in
  version) echo 20.10.24+dfsg1 ;;
  buildx) echo "docker: 'buildx' is not a docker command." >&2; exit 1 ;;
  build) for a in "$@"; do [ "$a" = --build-context ] && { echo "unknown flag: --build-context" >&2; exit 125; }; done; exit 1 ;;
  *) exit 1 ;;
esac
`,
      );
      chmodSync(docker, 0o755);
      const r = spawnSync(process.execPath, [join(REPO, "scripts/image.mjs"), "--builder", "docker"], {
        encoding: "utf8",
        env: {
          ...process.env,
          PATH: `${tmp.path("bin")}:${process.env.PATH}`,
          CREDBRIDGE_IMAGE_OUT: tmp.path("out"),
        },
        timeout: 120_000,
      });
      expect(r.stderr).toContain(
        "image: docker: building this image needs BuildKit (docker buildx), which is missing: ",
      );
      expect(r.status).toBe(1);
      const calls = readFileSync(tmp.path("calls"), "utf8").trim().split("\n");
      expect(calls.filter((c) => /^(buildx )?build /.test(c))).toEqual([]);
      expect(calls).toContain("buildx version");
    } finally {
      await tmp.cleanup();
    }
  }, 120_000);
});

describe("the key when the builder assembles the parts: the context the Dockerfile copies", () => {
  it("is every source examples/image/Dockerfile copies from the context, none from a stage", () => {
    const sources = inputs.contextSources(readFileSync(join(REPO, "examples/image/Dockerfile"), "utf8"));
    expect(sources).toEqual(
      expect.arrayContaining([
        "pnpm-lock.yaml",
        "packages/core",
        "packages/cli",
        "scripts/node.json",
        "examples/image",
      ]),
    );
    expect(sources.filter((s) => s.startsWith("/"))).toEqual([]);
  });

  it("changes with a source file, not with what the .dockerignore drops, and refuses a pattern it cannot read", async () => {
    const tmp = await tempDir("credbridge-image-context-");
    try {
      const dockerfile =
        "FROM x AS a\nCOPY package.json ./\nCOPY pkg/ pkg/\nFROM scratch\nCOPY --from=a /out/ /\n";
      const ignore = "**/node_modules\n**/dist\n**/*.tsbuildinfo\n.git\n";
      for (const [path, text] of Object.entries({
        "package.json": "{}",
        "pkg/src/a.ts": "export const a = 1;",
        "pkg/dist/a.js": "old",
        "pkg/node_modules/x/index.js": "x",
        "elsewhere.txt": "not copied",
      })) {
        mkdirSync(join(tmp.dir, path, ".."), { recursive: true });
        writeFileSync(tmp.path(path), text);
      }
      const key = () => inputs.contextDigest(tmp.dir, dockerfile, ignore);
      const before = key();
      for (const path of [
        "pkg/dist/a.js",
        "pkg/node_modules/x/index.js",
        "elsewhere.txt",
        "pkg/b.tsbuildinfo",
      ]) {
        writeFileSync(tmp.path(path), "changed");
        expect({ path, key: key() }).toEqual({ path, key: before });
      }
      writeFileSync(tmp.path("pkg/src/a.ts"), "export const a = 2;");
      expect(key()).not.toBe(before);
      expect(() => inputs.contextDigest(tmp.dir, dockerfile, "pkg/**/*.js\n")).toThrow(
        "the build cache cannot key on the pattern pkg/**/*.js",
      );
    } finally {
      await tmp.cleanup();
    }
  });
});
