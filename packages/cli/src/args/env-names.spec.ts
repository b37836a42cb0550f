import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  describeUnknown,
  describeUnlisted,
  distanceWithin,
  knownVariables,
  REPOSITORY_VARIABLES,
  unknownVariables,
} from "./env-names.js";

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
      }).listed,
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
    const [help] = unknownVariables({ CREDBRIDGE_HELP: "1" }).listed;
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
    expect(unknownVariables(Object.fromEntries(REPOSITORY_VARIABLES.map((n) => [n, "1"])))).toEqual({
      listed: [],
      unlisted: 0,
    });
  });
});

describe("unknownVariables' cost, whatever the environment holds", () => {
  it("lists the first 20 of 10 000 unknown names and counts the rest", () => {
    const env: Record<string, string> = { CREDBRIDGE_METRIC: "x" };
    for (let i = 0; i < 10_000; i++) env[`CREDBRIDGE_X${String(i).padStart(5, "0")}_AAAAAAAAAAAAA`] = "v";
    const { listed, unlisted } = unknownVariables(env);
    expect(listed).toHaveLength(20);
    expect(unlisted).toBe(9981);
    expect(listed[0]).toEqual({ name: "CREDBRIDGE_METRIC", closest: "CREDBRIDGE_METRICS" });
    // Far from every known name: no name offered.
    expect(listed[1]).toEqual({ name: "CREDBRIDGE_X00000_AAAAAAAAAAAAA" });
    expect(describeUnknown(listed[1]!)).toBe(
      "CREDBRIDGE_X00000_AAAAAAAAAAAAA is not a credbridge variable and is ignored",
    );
    expect(describeUnlisted(unlisted)).toBe(
      "and 9981 more CREDBRIDGE_* variables no command reads, not listed",
    );
  });

  it("shows a 100 000-character name cut, with its length, and compares it with nothing", () => {
    const name = `CREDBRIDGE_${"A".repeat(100_000 - 11)}`;
    const { listed } = unknownVariables({ [name]: "v" });
    expect(listed).toEqual([{ name: `${name.slice(0, 64)}… (100000 characters)` }]);
  });

  it.each([
    ["CREDBRIDGE_METRIC", "CREDBRIDGE_METRICS", 1],
    ["CREDBRIDGE_SELF_ASUM", "CREDBRIDGE_SELF_ASSUME", 2],
    ["CREDBRIDGE_PROFLIE", "CREDBRIDGE_PROFILE", 1],
    ["CREDBRIDGE_X", "CREDBRIDGE_METRICS", undefined],
    ["A".repeat(100_000), "CREDBRIDGE_METRICS", undefined],
  ])("distanceWithin(%s, %s, 3) is %s, undefined beyond 3", (a, b, d) => {
    expect(distanceWithin(a, b, 3)).toBe(d);
  });
});
