import { existsSync } from "node:fs";
import { mkdir, readFile, rename, symlink } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildOnce } from "../../support/build-once.js";
import { distributionSource } from "../../support/distribution.js";
import { goBuild } from "../../support/go.js";

/** Debian's aws-sdk-go v1 source (golang-github-aws-aws-sdk-go-dev), in its GOPATH. */
export const GOCODE = "/usr/share/gocode";
export const AWS_SDK_GO = `${GOCODE}/src/github.com/aws/aws-sdk-go`;

const GO_DIR = fileURLToPath(new URL("../go", import.meta.url));
/** Gitignored: the binaries and Go's build cache, kept between runs so only the first build compiles the SDK. */
const BIN_DIR = `${GO_DIR}/bin`;

export interface BuiltCredcheck {
  binary: string;
  /** The SDK version it is built against (its aws/version.go). */
  sdkVersion: string;
  buildMs: number;
}

/** Where an aws-sdk-go v1 source tree comes from: a GOPATH whose src holds it. */
interface SdkTree {
  /** In the binary's name; `debian` keeps the name the tests always used. */
  name: string;
  gopath(): Promise<string>;
}

/** Debian's packages: what `test/compat` built from the start. */
export const DEBIAN_SDK: SdkTree = {
  name: "debian",
  gopath: async () => {
    if (!existsSync(`${AWS_SDK_GO}/aws/version.go`)) {
      throw new Error(`${AWS_SDK_GO} is missing: install Debian's golang-github-aws-aws-sdk-go-dev`);
    }
    return GOCODE;
  },
};

/**
 * aws-sdk-go 1.15.11 as distribution v2.8.3 vendors it (Harbor's registry):
 * a GOPATH whose `src` is the extracted tree's `vendor/`, so credcheck links
 * the very SDK packages (and their go-ini and jmespath) the registry does.
 */
export const VENDORED_SDK: SdkTree = {
  name: "aws-sdk-go-1.15.11",
  gopath: async () => {
    const source = await distributionSource();
    const gopath = join(source.cache, "vendor-gopath");
    await buildOnce(gopath, async (temporary) => {
      await mkdir(temporary);
      await symlink(source.vendor, join(temporary, "src"));
    });
    return gopath;
  },
};

/**
 * Builds go/src/credcheck offline in GOPATH mode against one SDK tree: GOPATH
 * is this tree's go/ then the SDK's, modules and the proxy off. Each call links
 * its own file and renames it into place: several test files build it at once
 * while others run it, and none may see a half-written binary (or ETXTBSY).
 */
export const buildCredcheck = async (sdk: SdkTree = DEBIAN_SDK): Promise<BuiltCredcheck> => {
  const sdkGopath = await sdk.gopath();
  const versionFile = join(sdkGopath, "src", "github.com", "aws", "aws-sdk-go", "aws", "version.go");
  const sdkVersion = /SDKVersion = "([^"]+)"/.exec(await readFile(versionFile, "utf8"))?.[1] ?? "unknown";
  await mkdir(BIN_DIR, { recursive: true });
  const binary = sdk === DEBIAN_SDK ? `${BIN_DIR}/credcheck` : `${BIN_DIR}/credcheck-${sdk.name}`;
  const building = `${binary}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  const started = Date.now();
  await goBuild({
    cwd: GO_DIR,
    gopath: [GO_DIR, sdkGopath],
    cache: `${BIN_DIR}/gocache`,
    pkg: "credcheck",
    output: building,
    cgo: true,
  });
  await rename(building, binary);
  return { binary, sdkVersion, buildMs: Date.now() - started };
};
