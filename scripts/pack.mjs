// The published packages as npm tarballs, made by pnpm (which rewrites each
// `workspace:^` dependency to the version it names) from the built workspace.
// `npm run packages` calls this after set-up and build (scripts/packages.sh);
// test/pack packs with it and installs the result with npm, as a user does:
//
//   node scripts/pack.mjs [DIR]     (default dist/packages; prints the tarballs, one a line)
//
// Until a release is on npm, installing these five tarballs in one npm command
// is how the CLI gets onto a machine: `npm install -g dist/packages/*.tgz`.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** In dependency order; packages/emulators is private. */
export const PUBLISHED = ["core", "http", "writer", "imds-shim", "cli"];

const root = fileURLToPath(new URL("../", import.meta.url));

/** Packs each published package into `dir` (emptied of older tarballs first); returns the tarballs' paths. */
export const packPublished = (dir, env = process.env) => {
  mkdirSync(dir, { recursive: true });
  for (const old of readdirSync(dir).filter((f) => f.endsWith(".tgz"))) rmSync(join(dir, old));
  return PUBLISHED.map((pkg) => {
    const before = new Set(readdirSync(dir));
    execFileSync("pnpm", ["pack", "--pack-destination", dir], {
      cwd: join(root, "packages", pkg),
      env,
      stdio: ["ignore", "ignore", "inherit"],
    });
    const made = readdirSync(dir).filter((f) => !before.has(f) && f.endsWith(".tgz"));
    if (made.length !== 1) throw new Error(`pnpm pack in packages/${pkg} made ${made.length} tarballs`);
    return join(dir, made[0]);
  });
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tarballs = packPublished(resolve(process.argv[2] ?? join(root, "dist", "packages")));
  process.stdout.write(`${tarballs.join("\n")}\n`);
}
