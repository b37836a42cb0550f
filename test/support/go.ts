import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

/** Debian's Go (golang-go): every Go program the tests build is built with it, offline. */
export const GO = "/usr/bin/go";

/**
 * `go build -o <output> <pkg>` in GOPATH mode, offline: modules and the proxy
 * off, `gopath` as GOPATH (first entry first), Go's build cache in `cache`
 * (kept between runs, so only a first build compiles the dependencies). No
 * cgo unless asked: Debian's golang-go does not pull in gcc.
 */
export const goBuild = async (options: {
  cwd: string;
  gopath: readonly string[];
  cache: string;
  pkg: string;
  output: string;
  cgo?: boolean;
}): Promise<void> => {
  if (!existsSync(GO)) throw new Error(`${GO} is missing: install Debian's golang-go`);
  await new Promise<void>((resolve, reject) => {
    execFile(
      GO,
      ["build", "-o", options.output, options.pkg],
      {
        cwd: options.cwd,
        env: {
          PATH: "/usr/bin:/bin",
          HOME: options.cache,
          GO111MODULE: "off",
          GOPATH: options.gopath.join(":"),
          GOCACHE: options.cache,
          GOPROXY: "off",
          GOFLAGS: "",
          CGO_ENABLED: options.cgo === true && existsSync("/usr/bin/gcc") ? "1" : "0",
        },
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`go build ${options.pkg} failed: ${error.message}\n${stderr}`)) : resolve(),
    );
  });
};
