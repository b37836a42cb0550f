/**
 * One name for the image: the repository the webhook injects by default
 * (IMAGE_REPOSITORY), the tag the CLI's version, and every manifest, value and
 * document that names it says the same; scripts/image.mjs tags what it builds
 * with that name.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IMAGE_REPOSITORY } from "@credbridge/cli";
import { describe, expect, it } from "vitest";
import { cliVersion, REPO } from "./support/image.js";

const filesUnder = (dir: string, pattern: RegExp): string[] =>
  readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : filesUnder(path, pattern);
    return pattern.test(e.name) ? [path] : [];
  });

describe("the image's name", () => {
  it("is the webhook's default repository with the CLI's version, in every manifest and document that names it", async () => {
    expect(IMAGE_REPOSITORY).toBe("ghcr.io/credbridge/credbridge");
    const expected = `${IMAGE_REPOSITORY}:${cliVersion()}`;
    const named: { file: string; ref: string }[] = [];
    for (const file of [
      ...filesUnder("examples", /\.(ya?ml|md|sh)$/),
      ...filesUnder("packages", /^README\.md$/),
      "README.md",
      "CHANGELOG.md",
    ]) {
      for (const m of readFileSync(join(REPO, file), "utf8").matchAll(
        /ghcr\.io\/credbridge\/credbridge(:[\w.-]+)?/g,
      )) {
        named.push({ file, ref: m[0] });
      }
    }
    const manifests = named.filter((n) => n.file.startsWith("examples/kubernetes/"));
    expect(manifests.length, "the manifests' image: lines and CREDBRIDGE_IMAGE").toBeGreaterThanOrEqual(5);
    for (const n of named.filter((n) => n.ref.includes(":"))) {
      expect(n).toEqual({ file: n.file, ref: expected });
    }
  });
});
