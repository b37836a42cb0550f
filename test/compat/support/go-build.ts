import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** Debian's Go (golang-go) and aws-sdk-go v1 source (golang-github-aws-aws-sdk-go-dev). */
export const GO = "/usr/bin/go";
export const GOCODE = "/usr/share/gocode";
export const AWS_SDK_GO = `${GOCODE}/src/github.com/aws/aws-sdk-go`;

const GO_DIR = fileURLToPath(new URL("../go", import.meta.url));
/** Gitignored: the binary and Go's build cache, kept between runs so only the first build compiles the SDK. */
const BIN_DIR = `${GO_DIR}/bin`;

export interface BuiltCredcheck {
  binary: string;
  /** The SDK version Debian ships (aws/version.go). */
  sdkVersion: string;
  buildMs: number;
}

/**
 * Builds go/src/credcheck offline in GOPATH mode against Debian's packages:
 * GOPATH is this tree then /usr/share/gocode, modules and the proxy off. The
 * C toolchain is used only when present (Debian's golang-go does not pull in
 * gcc without recommends); the program needs no cgo either way.
 */
export const buildCredcheck = async (): Promise<BuiltCredcheck> => {
  if (!existsSync(GO)) throw new Error(`${GO} is missing: install Debian's golang-go`);
  const versionFile = `${AWS_SDK_GO}/aws/version.go`;
  if (!existsSync(versionFile)) {
    throw new Error(`${AWS_SDK_GO} is missing: install Debian's golang-github-aws-aws-sdk-go-dev`);
  }
  const sdkVersion = /SDKVersion = "([^"]+)"/.exec(await readFile(versionFile, "utf8"))?.[1] ?? "unknown";
  await mkdir(BIN_DIR, { recursive: true });
  const binary = `${BIN_DIR}/credcheck`;
  // Several test files build it at once, while others run it: each links its own
  // file and renames it into place, so none sees a half-written binary (or ETXTBSY).
  const building = `${binary}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    execFile(
      GO,
      ["build", "-o", building, "credcheck"],
      {
        cwd: GO_DIR,
        env: {
          PATH: "/usr/bin:/bin",
          HOME: BIN_DIR,
          GO111MODULE: "off",
          GOPATH: `${GO_DIR}:${GOCODE}`,
          GOCACHE: `${BIN_DIR}/gocache`,
          GOPROXY: "off",
          GOFLAGS: "",
          CGO_ENABLED: existsSync("/usr/bin/gcc") ? "1" : "0",
        },
        timeout: 300_000,
      },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`go build credcheck failed: ${error.message}\n${stderr}`)) : resolve(),
    );
  });
  await rename(building, binary);
  return { binary, sdkVersion, buildMs: Date.now() - started };
};
