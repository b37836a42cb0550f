import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { describeUnknown, knownVariables, REPOSITORY_VARIABLES, unknownVariables } from "./env-names.js";

const repo = fileURLToPath(new URL("../../../../", import.meta.url));

/** Files under `dir` (relative to the repository) whose names match, node_modules and dist excluded. */
const files = (dir: string, name: RegExp): string[] =>
  readdirSync(join(repo, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => name.test(f) && !/(^|\/)(node_modules|dist)\//.test(f))
    .map((f) => join(repo, dir, f));

describe("unknownVariables", () => {
  it("names each CREDBRIDGE_* variable no command reads, with the closest known one", () => {
    expect(
      unknownVariables({
        CREDBRIDGE_METRIC: "0.0.0.0:9090",
        CREDBRIDGE_SELF_ASUME: "true",
        CREDBRIDGE_CREDENTIALS_FILE: "/x",
        AWS_ROLE_ARN: "arn",
      }),
    ).toEqual([
      { name: "CREDBRIDGE_METRIC", closest: "CREDBRIDGE_METRICS" },
      { name: "CREDBRIDGE_SELF_ASUME", closest: "CREDBRIDGE_SELF_ASSUME" },
    ]);
  });

  it("knows every command's variables (the sidecar's, seen by doctor beside it) and not CREDBRIDGE_HELP", () => {
    const known = knownVariables();
    for (const name of [
      "CREDBRIDGE_METRICS",
      "CREDBRIDGE_LISTEN",
      "CREDBRIDGE_S3_BUCKET",
      "CREDBRIDGE_CACHE_DIR",
    ]) {
      expect(known.has(name), name).toBe(true);
    }
    expect(known.has("CREDBRIDGE_HELP")).toBe(false);
    const [help] = unknownVariables({ CREDBRIDGE_HELP: "1" });
    expect(help).toEqual({ name: "CREDBRIDGE_HELP" });
    expect(describeUnknown(help!)).toBe(
      "CREDBRIDGE_HELP is not a credbridge variable and is ignored: --help is a flag only",
    );
  });

  it("stays quiet about the repository's own script and test variables, which are exactly those", () => {
    const read = new Set<string>();
    const sources = [
      ...files("scripts", /\.(sh|mjs)$/),
      ...files("test", /\.(ts|mjs)$/),
      ...files("bench", /\.(ts|mjs)$/),
      ...files("demo", /\.(ts|mjs)$/),
    ];
    for (const file of sources) {
      const text = readFileSync(file, "utf8");
      // process.env.X, process.env["X"], $X and ${X}: what reads a variable, not what merely names one.
      for (const m of text.matchAll(/(?:process\.env(?:\.|\[")|\$\{?)(CREDBRIDGE_[A-Z0-9_]+)/g))
        read.add(m[1]!);
    }
    for (const m of readFileSync(join(repo, "test/support/distribution.ts"), "utf8").matchAll(
      /_ENV = "(CREDBRIDGE_[A-Z0-9_]+)"/g,
    )) {
      read.add(m[1]!);
    }
    const known = knownVariables();
    expect([...read].filter((name) => !known.has(name)).sort()).toEqual([...REPOSITORY_VARIABLES].sort());
    expect(unknownVariables(Object.fromEntries(REPOSITORY_VARIABLES.map((n) => [n, "1"])))).toEqual([]);
  });
});
