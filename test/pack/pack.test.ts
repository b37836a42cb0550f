/**
 * The packages as a user gets them from the registry: packed with pnpm (which
 * rewrites `workspace:^` to real versions), installed with npm into a directory
 * outside the workspace, then imported, required, type-checked and run from
 * there. Whatever works only inside the workspace — a dependency hoisted from the
 * root, a path into src/, a `workspace:` specifier, a file left out of `files` —
 * fails here. One install serves every test: it is the slow part.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { mintWebIdentityToken, startStsEmulator } from "@credbridge/emulators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { PUBLISHED, packPublished } from "../../scripts/pack.mjs";
import { tempDir } from "../support/tmp.js";

const run = promisify(execFile);

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** The published packages, in dependency order. `packages/emulators` is private. */
const PACKAGES = ["core", "http", "writer", "imds-shim", "cli"] as const;
type Pkg = (typeof PACKAGES)[number];

const FIXTURES = ["consumer.mjs", "consumer.cjs", "consumer.mts", "consumer.cts", "tsconfig.json"];

interface Manifest {
  name: string;
  version: string;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string };
  engines?: { node?: string };
  files?: string[];
  exports?: Record<string, unknown>;
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

interface Packed {
  tarball: string;
  /** Paths inside the tarball, without the leading `package/`. */
  entries: string[];
  /** Where the tarball was extracted. */
  dir: string;
  manifest: Manifest;
}

interface ConsumerReport {
  packages: Record<
    Pkg,
    { exports: string[]; resolved: string; deep: Record<string, string>; sameAsImport?: boolean }
  >;
  smoke?: Record<string, unknown>;
}

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, "utf8")) as T;

/** The environment of the child processes: npm must not see pnpm's per-run variables. */
const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(npm_(package|lifecycle)_|npm_command$|pnpm_)/i.test(key),
    ),
  ),
  ...extra,
});

const filesUnder = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
const packageNameOf = (specifier: string): string =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

/** Every module specifier a compiled file names: static, side-effect, re-export, dynamic and require. */
const specifiersIn = (code: string): string[] =>
  [
    ...code.matchAll(/\bfrom\s*["']([^"']+)["']/g),
    ...code.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g),
    ...code.matchAll(/\brequire\s*\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]!);

/** The declared runtime dependencies: what npm installs for a user of the package. */
const declared = (manifest: Manifest): Set<string> =>
  new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ]);

describe("the packed packages, installed with npm outside the workspace", { timeout: 180_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  /** The consumer's directory: nothing above it knows the workspace. */
  let fresh: string;
  const packed = {} as Record<Pkg, Packed>;
  /** What each package's built entry point exports in the workspace. */
  let expectedExports: Record<Pkg, string[]>;

  beforeAll(async () => {
    tmp = await tempDir("credbridge-pack-");
    const tarballs = tmp.path("tarballs");
    fresh = tmp.path("fresh");
    await mkdir(tarballs);
    await mkdir(fresh);

    // Packed as `npm run packages` packs them (scripts/pack.mjs), the README's install from source.
    const made = packPublished(tarballs, childEnv());
    expect(PUBLISHED).toEqual([...PACKAGES]);
    for (const [i, pkg] of PACKAGES.entries()) {
      const tarball = made[i]!;
      const dir = tmp.path("extracted", pkg);
      await mkdir(dir, { recursive: true });
      await run("tar", ["-xzf", tarball, "-C", dir]);
      const root = join(dir, "package");
      packed[pkg] = {
        tarball,
        dir: root,
        entries: (await filesUnder(root)).map((f) => relative(root, f).split(sep).join("/")).sort(),
        manifest: await readJson<Manifest>(join(root, "package.json")),
      };
    }

    const { stdout } = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const out = {};
         for (const pkg of ${JSON.stringify(PACKAGES)}) {
           const mod = await import("@credbridge/" + pkg);
           out[pkg] = Object.keys(mod).sort();
         }
         process.stdout.write(JSON.stringify(out));`,
      ],
      // The test package, which depends on every workspace package: its imports resolve them by name.
      { cwd: join(repoRoot, "test") },
    );
    expectedExports = JSON.parse(stdout);

    // The toolchain a consumer would have, at the workspace's versions; @smithy/types
    // because the TypeScript consumer names AwsCredentialIdentityProvider.
    const workspaceVersion = async (name: string) =>
      (await readJson<Manifest>(join(repoRoot, "node_modules", name, "package.json"))).version;
    await writeFile(
      join(fresh, "package.json"),
      `${JSON.stringify(
        {
          name: "credbridge-consumer",
          private: true,
          devDependencies: {
            typescript: await workspaceVersion("typescript"),
            "@types/node": await workspaceVersion("@types/node"),
            "@smithy/types": packed.core.manifest.dependencies?.["@smithy/types"],
          },
        },
        null,
        2,
      )}\n`,
    );
    for (const file of FIXTURES) await copyFile(join(fixtures, file), join(fresh, file));
    // All the tarballs in one command, so npm satisfies @credbridge/* from them and not the registry.
    await run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts=false",
        ...PACKAGES.map((pkg) => packed[pkg].tarball),
      ],
      { cwd: fresh, env: childEnv(), maxBuffer: 16 * 1024 * 1024 },
    );
  }, 300_000);

  afterAll(async () => {
    await tmp?.cleanup();
  });

  it.each(PACKAGES)(
    "%s: the tarball holds the build, README and LICENSE, and nothing of the workspace",
    async (pkg) => {
      const { entries, dir } = packed[pkg];
      expect(entries).toContain("package.json");
      expect(entries).toContain("dist/index.js");
      expect(entries).toContain("dist/index.d.ts");
      expect(entries, "a README with a runnable example").toContain("README.md");
      expect(entries).toContain("LICENSE");
      expect(await readFile(join(dir, "LICENSE"), "utf8")).toBe(
        await readFile(join(repoRoot, "LICENSE"), "utf8"),
      );
      expect(await readFile(join(dir, "README.md"), "utf8"), "README.md has a code example").toMatch(/^```/m);

      const workspaceOnly = entries.filter(
        (e) =>
          e.startsWith("src/") ||
          /\.spec\./.test(e) ||
          /(^|\/)tsconfig[^/]*\.json$/.test(e) ||
          e.endsWith(".tsbuildinfo") ||
          e.includes("node_modules/"),
      );
      expect(workspaceOnly).toEqual([]);

      // tsc -b never deletes outputs: a module whose source is gone would still ship.
      const stale = [];
      for (const e of entries.filter((e) => e.startsWith("dist/") && e.endsWith(".js"))) {
        const source = join(
          repoRoot,
          "packages",
          pkg,
          "src",
          e.slice("dist/".length).replace(/\.js$/, ".ts"),
        );
        if (!existsSync(source)) stale.push(e);
      }
      expect(stale, "dist files without a source").toEqual([]);

      // Source maps and declarations must not carry a path on the machine that built them.
      const leaking = [];
      for (const e of entries) {
        if ((await readFile(join(dir, e), "utf8")).includes(repoRoot.replace(/\/$/, ""))) leaking.push(e);
      }
      expect(leaking, "files naming the workspace path").toEqual([]);
    },
  );

  it.each(PACKAGES)("%s: package.json is publishable", async (pkg) => {
    const { manifest, entries } = packed[pkg];
    const workspace = await readJson<Manifest>(join(repoRoot, "packages", pkg, "package.json"));
    expect(manifest.name).toBe(`@credbridge/${pkg}`);
    expect(manifest.version).toBe(workspace.version);
    expect(manifest.license).toBe("Apache-2.0");
    expect(manifest.repository).toMatchObject({
      type: "git",
      url: expect.stringMatching(/^git\+https:\/\/github\.com\/.+\.git$/),
      directory: `packages/${pkg}`,
    });
    // The Node lines the tests run on (test/image/node-versions.test.ts keeps the root's in step with them).
    const rootManifest = await readJson<Manifest>(join(repoRoot, "package.json"));
    expect(manifest.engines?.node).toBe(rootManifest.engines?.node);
    expect(manifest.files).toEqual(expect.arrayContaining(["dist", "README.md", "LICENSE"]));

    for (const field of [
      "dependencies",
      "peerDependencies",
      "optionalDependencies",
      "devDependencies",
    ] as const) {
      for (const [name, range] of Object.entries(manifest[field] ?? {})) {
        expect(range, `${field}.${name}`).not.toMatch(/^(workspace|file|link|portal):/);
        if (name.startsWith("@credbridge/")) {
          const target = await readJson<Manifest>(
            join(repoRoot, "packages", name.slice("@credbridge/".length), "package.json"),
          );
          expect(range, `${field}.${name}`).toBe(`^${target.version}`);
        }
      }
    }

    const root = manifest.exports?.["."] as Record<string, string>;
    expect(Object.keys(root)[0], "types first in exports").toBe("types");
    expect(manifest.exports?.["./internal/*"]).toBeNull();
    const targets = [
      root.types!,
      root.default!,
      manifest.main!,
      manifest.types!,
      ...Object.values(manifest.bin ?? {}),
    ];
    for (const target of targets)
      expect(entries, `${target} is packed`).toContain(target.replace(/^\.\//, ""));
    if (pkg === "cli") expect(manifest.bin).toEqual({ credbridge: "./bin/credbridge.cjs" });
  });

  it.each(PACKAGES)("%s: every module the build imports is packed or a declared dependency", async (pkg) => {
    const { entries, dir, manifest } = packed[pkg];
    const deps = declared(manifest);
    const undeclared: string[] = [];
    const missing: string[] = [];
    const used = new Set<string>();
    // .cjs: the CLI's bin and its bundle (scripts/bundle.mjs) are CommonJS.
    for (const e of entries.filter((e) => /\.c?js$/.test(e) || e.endsWith(".d.ts"))) {
      for (const specifier of specifiersIn(await readFile(join(dir, e), "utf8"))) {
        if (specifier.startsWith(".")) {
          const target = join(dirname(e), specifier);
          const wanted = e.endsWith(".d.ts") ? target.replace(/\.js$/, ".d.ts") : target;
          if (!entries.includes(wanted)) missing.push(`${e} → ${specifier}`);
        } else if (!isBuiltin(specifier)) {
          const name = packageNameOf(specifier);
          used.add(name);
          // Declarations count too: a consumer's tsc resolves them from the package's dependencies.
          if (name !== manifest.name && !deps.has(name)) undeclared.push(`${e} → ${specifier}`);
        }
      }
    }
    expect(undeclared, "bare imports of packages not in dependencies").toEqual([]);
    expect(missing, "relative imports of files not in the tarball").toEqual([]);
    expect(
      [...deps].filter((d) => !used.has(d)),
      "dependencies nothing imports",
    ).toEqual([]);
  });

  it("npm takes @credbridge/* from the tarballs and finds every runtime dependency", async () => {
    await run("npm", ["ls", "--omit=dev", "--all"], { cwd: fresh, env: childEnv() });
    const lock = await readJson<{ packages: Record<string, { version?: string; resolved?: string }> }>(
      join(fresh, "package-lock.json"),
    );
    const ours = Object.entries(lock.packages).filter(([path]) =>
      /(^|\/)node_modules\/@credbridge\//.test(path),
    );
    // One copy of each, at the top, from its tarball: none nested, none from the registry.
    expect(ours.map(([path]) => path).sort()).toEqual(
      PACKAGES.map((pkg) => `node_modules/@credbridge/${pkg}`).sort(),
    );
    for (const [path, entry] of ours) expect(entry.resolved, path).toMatch(/^file:/);
  });

  /** Runs a consumer from the fresh directory with keys for the default chain and no AWS set-up. */
  const consume = async (file: string): Promise<ConsumerReport> => {
    const { stdout } = await run(process.execPath, [file], {
      cwd: fresh,
      env: childEnv({
        HOME: fresh,
        AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_CONFIG_FILE: join(fresh, "no-config"),
        AWS_SHARED_CREDENTIALS_FILE: join(fresh, "no-credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
      }),
    });
    return JSON.parse(stdout) as ConsumerReport;
  };

  const expectInstalledPackages = (report: ConsumerReport) => {
    for (const pkg of PACKAGES) {
      const got = report.packages[pkg];
      expect(got.exports, `exports of @credbridge/${pkg}`).toEqual(expectedExports[pkg]);
      expect(got.resolved).toBe(join(fresh, "node_modules", "@credbridge", pkg, "dist", "index.js"));
      expect(Object.keys(got.deep).length).toBeGreaterThan(0);
      for (const [specifier, outcome] of Object.entries(got.deep)) {
        expect(outcome, specifier).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
      }
    }
  };

  it("an ESM consumer imports every public export and runs one call per package", async () => {
    const report = await consume("consumer.mjs");
    expectInstalledPackages(report);
    expect(report.smoke).toEqual({
      refreshing: "fresh",
      defaultChain: "****MPLE",
      assumeRole: "ERR_STS",
      http: 200,
      writer: true,
      imds: "****MPLE",
      cli: { code: 0, version: packed.cli.manifest.version },
    });
  });

  it("a CommonJS consumer requires every public export, the same modules as import()", async () => {
    const report = await consume("consumer.cjs");
    expectInstalledPackages(report);
    for (const pkg of PACKAGES) expect(report.packages[pkg].sameAsImport, pkg).toBe(true);
  });

  it("a TypeScript consumer type-checks against the published declarations alone", async () => {
    const tsc = join(fresh, "node_modules", "typescript", "bin", "tsc");
    const { stdout } = await run(process.execPath, [tsc, "-p", "tsconfig.json", "--listFiles"], {
      cwd: fresh,
    }).catch((error: { stdout?: string; message: string }) => {
      throw new Error(`tsc failed in the fresh install:\n${error.stdout ?? error.message}`);
    });
    const files = stdout.split("\n").filter(Boolean);
    expect(files.filter((f) => !f.startsWith(fresh + sep))).toEqual([]);
    for (const pkg of PACKAGES) {
      expect(files).toContain(join(fresh, "node_modules", "@credbridge", pkg, "dist", "index.d.ts"));
    }
  });

  it("the installed credbridge bin prints its usage and version", async () => {
    const bin = join(fresh, "node_modules", ".bin", "credbridge");
    const env = childEnv({ HOME: fresh });
    const help = await run(bin, ["--help"], { cwd: fresh, env });
    expect(help.stdout).toContain("usage: credbridge <command> [flags]");
    for (const command of ["serve", "write", "process", "doctor", "trust-policy", "permission-policy"]) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command} `, "m"));
    }
    const serve = await run(bin, ["serve", "--help"], { cwd: fresh, env });
    expect(serve.stdout).toContain("--credentials-file PATH");
    const version = await run(bin, ["--version"], { cwd: fresh, env });
    expect(version.stdout.trim()).toBe(packed.cli.manifest.version);
  });

  /** A pod with IRSA, its STS being the emulator: what the README examples expect to find. */
  const withIrsa = async (use: (env: NodeJS.ProcessEnv) => Promise<void>) => {
    const sts = await startStsEmulator();
    try {
      const tokenFile = join(fresh, "irsa-token");
      await writeFile(tokenFile, mintWebIdentityToken());
      await use(
        childEnv({
          HOME: fresh,
          XDG_CACHE_HOME: join(fresh, "cache"),
          AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/app",
          AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
          AWS_REGION: "us-east-1",
          AWS_ENDPOINT_URL_STS: sts.url,
          AWS_CONFIG_FILE: join(fresh, "no-config"),
          AWS_SHARED_CREDENTIALS_FILE: join(fresh, "no-credentials"),
          AWS_EC2_METADATA_DISABLED: "true",
        }),
      );
    } finally {
      await sts.close();
    }
  };

  it("core's README example runs as written", async () => {
    const readme = await readFile(join(packed.core.dir, "README.md"), "utf8");
    const example = /^```js\n([\s\S]*?)^```/m.exec(readme)?.[1];
    expect(example, "a ```js block in packages/core/README.md").toBeDefined();
    await writeFile(join(fresh, "readme-core.mjs"), example!);
    await withIrsa(async (env) => {
      const { stdout } = await run(process.execPath, ["readme-core.mjs"], { cwd: fresh, env });
      expect(stdout).toMatch(
        /^arn:aws:sts::111122223333:assumed-role\/app\/\S+: credentials fresh until \d{4}-/,
      );
    });
  });

  it("http's README example runs as written", async () => {
    const readme = await readFile(join(packed.http.dir, "README.md"), "utf8");
    const example = /^```js\n([\s\S]*?)^```/m.exec(readme)?.[1];
    expect(example, "a ```js block in packages/http/README.md").toBeDefined();
    await writeFile(join(fresh, "readme-http.mjs"), example!);
    const { stdout } = await run(process.execPath, ["readme-http.mjs"], { cwd: fresh, env: childEnv() });
    expect(stdout).toBe("200 hello\n");
  });

  it("cli's README credential_process line runs as written", async () => {
    const readme = await readFile(join(packed.cli.dir, "README.md"), "utf8");
    const line = /^credential_process = (.+)$/m.exec(readme)?.[1];
    expect(line, "a credential_process line in packages/cli/README.md").toBeDefined();
    const [command, ...args] = line!.trim().split(/\s+/);
    expect(command).toBe("credbridge");
    await withIrsa(async (env) => {
      const { stdout } = await run(join(fresh, "node_modules", ".bin", "credbridge"), args, {
        cwd: fresh,
        env,
      });
      const output = JSON.parse(stdout) as Record<string, unknown>;
      expect(output).toMatchObject({
        Version: 1,
        AccessKeyId: expect.any(String),
        Expiration: expect.any(String),
      });
    });
  });

  it("the root CHANGELOG has an entry for the packed version", async () => {
    const changelog = await readFile(join(repoRoot, "CHANGELOG.md"), "utf8");
    expect(changelog).toMatch(
      new RegExp(`^## \\[?${packed.core.manifest.version.replaceAll(".", "\\.")}\\]?`, "m"),
    );
  });
});
