/**
 * examples/image/Dockerfile read as text: the checks that keep its two ways of
 * building (everything in the builder, or parts assembled on the host and given
 * as the named context "parts") the same image, and in step with the workspace,
 * the manifests and the CLI. image.test.ts checks the image built from it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliVersion, REPO } from "./support/image.js";
import { credbridgeContainer, podOf } from "./support/pod.js";

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions with line continuations joined and comments dropped (the parser directive too). */
const parseDockerfile = (text: string): Stage[] => {
  const instructions: Instruction[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    if (/^\s*#/.test(line)) continue;
    const continued = /\\\s*$/.test(line);
    pending += continued ? `${line.replace(/\\\s*$/, "")} ` : line;
    if (continued) continue;
    const m = /^\s*(\w+)\s+(.*?)\s*$/s.exec(pending);
    if (m) instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.replace(/\s+/g, " ") });
    pending = "";
  }
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const words = ins.args.split(" ").filter((w) => !w.startsWith("--"));
      const as = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({ image: words[0]!, name: as === -1 ? undefined : words[as + 1], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
};

const read = (path: string) => readFileSync(join(REPO, path), "utf8");
const stages = parseDockerfile(read("examples/image/Dockerfile"));
const finalStage = stages.at(-1)!;
const assembleStage = stages.find((s) => s.name === "assemble");
const parts = stages.find((s) => s.name === "parts");
const runtime = stages.find((s) => s.name === "runtime");
const of = (stage: Stage | undefined, keyword: string) =>
  (stage?.instructions ?? []).filter((i) => i.keyword === keyword).map((i) => i.args);

interface PackageJson {
  name: string;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
}
const workspacePackages = new Map(
  readdirSync(join(REPO, "packages")).map((dir) => {
    const pkg = JSON.parse(read(`packages/${dir}/package.json`)) as PackageJson;
    return [pkg.name, { dir, pkg }] as const;
  }),
);

describe("examples/image/Dockerfile", () => {
  it("assembles on a Node LTS of 22 or later, and builds the image from scratch with the parts' two layers only, a stage each", () => {
    expect(stages.map((s) => s.name)).toEqual(["assemble", "parts", "runtime", undefined]);
    const major = Number(/^(?:docker\.io\/library\/)?node:(\d+)-/.exec(assembleStage!.image)?.[1]);
    expect(major).toBeGreaterThanOrEqual(22);
    expect(major % 2, "an even (LTS) major").toBe(0);
    // One COPY per stage: buildah without --layers (no intermediate images left) makes one layer of each.
    expect(runtime!.image).toBe("scratch");
    expect(runtime!.instructions).toEqual([{ keyword: "COPY", args: "--from=parts /base/ /" }]);
    expect(finalStage.image).toBe("runtime");
    expect(of(finalStage, "COPY")).toEqual(["--from=parts /app/ /app/"]);
    for (const stage of [runtime!, finalStage]) {
      expect(of(stage, "ADD")).toEqual([]);
      expect(of(stage, "RUN"), "nothing runs in the image: it has no shell").toEqual([]);
    }
  });

  it("names no Dockerfile frontend to pull: building from the host's parts contacts no registry", () => {
    // A `# syntax=` parser directive makes BuildKit fetch that frontend image from Docker Hub.
    const text = read("examples/image/Dockerfile");
    expect(text.split("\n").filter((l) => /^#\s*syntax\s*=/i.test(l))).toEqual([]);
    expect(stages.filter((s) => s.name !== "assemble").map((s) => s.image)).toEqual([
      "scratch",
      "scratch",
      "runtime",
    ]);
  });

  it("makes the parts stage the shape of the host's named context, with the same script the host runs", () => {
    expect(parts!.image).toBe("scratch");
    expect(parts!.instructions).toEqual([{ keyword: "COPY", args: "--from=assemble /parts/ /" }]);
    expect(of(assembleStage, "RUN").join("\n")).toMatch(/node examples\/image\/assemble\.mjs --out \/parts /);
    // scripts/image.mjs assembles with the same function and hands the result over as "parts".
    expect(read("scripts/image.mjs")).toContain("examples/image/assemble.mjs");
    expect(read("scripts/image-plan.mjs")).toMatch(/`parts=\$\{parts\}`/);
  });

  it("installs the pnpm that package.json pins, from the frozen lockfile", () => {
    const pinned = /^pnpm@(\d+\.\d+\.\d+)/.exec(
      (JSON.parse(read("package.json")) as { packageManager: string }).packageManager,
    )?.[1];
    expect(pinned).toBeDefined();
    const args = new Map(
      of(assembleStage, "ARG")
        .filter((a) => a.includes("="))
        .map((a) => a.split("=", 2) as [string, string]),
    );
    const runs = of(assembleStage, "RUN");
    const installs = runs
      .map((r) => /npm install .*"?pnpm@([^"\s]+)"?/.exec(r)?.[1])
      .filter((v): v is string => v !== undefined)
      .map((v) => v.replace(/^\$\{?(\w+)\}?$/, (_, name: string) => args.get(name) ?? ""));
    expect(installs).toEqual([pinned]);
    expect(runs.some((r) => /pnpm install .*--frozen-lockfile/.test(r))).toBe(true);
  });

  it("copies into the assemble stage the manifests and sources of the CLI and every workspace package it uses", () => {
    const needed = new Set<string>();
    const visit = (name: string): void => {
      const entry = workspacePackages.get(name);
      if (!entry || needed.has(entry.dir)) return;
      needed.add(entry.dir);
      for (const [dep, spec] of Object.entries(entry.pkg.dependencies ?? {})) {
        if (spec.startsWith("workspace:")) visit(dep);
      }
    };
    visit("@credbridge/cli");
    expect(needed.size).toBeGreaterThan(1);
    const copied = of(assembleStage, "COPY").flatMap((a) => a.split(" ").slice(0, -1));
    for (const dir of needed) {
      expect(copied).toContain(`packages/${dir}/package.json`);
      expect(copied).toContain(`packages/${dir}/`);
    }
    for (const path of ["scripts/node.mjs", "scripts/node.json", "examples/image/", "LICENSE"]) {
      expect(copied).toContain(path);
    }
  });

  it("runs as the numeric non-root user every manifest's credbridge container runs as", () => {
    const user = of(finalStage, "USER").at(-1);
    // Numeric, so the kubelet can verify runAsNonRoot without a runAsUser.
    expect(user).toMatch(/^\d+:\d+$/);
    const [uid, gid] = user!.split(":").map(Number);
    expect(uid).toBeGreaterThan(0);
    for (const manifest of [
      "irsa/harbor-registry.yaml",
      "pod-identity/harbor-registry.yaml",
      "imds/harbor-registry.yaml",
      "webhook/webhook.yaml",
    ]) {
      const sc = credbridgeContainer(podOf(manifest)).securityContext;
      expect({ manifest, uid: sc?.runAsUser, gid: sc?.runAsGroup }).toEqual({ manifest, uid, gid });
    }
    const passwd = read("examples/image/rootfs/etc/passwd");
    expect(passwd).toMatch(new RegExp(`^nonroot:x:${uid}:${gid}:[^:]*:/nonexistent:/sbin/nologin$`, "m"));
  });

  it("starts the CLI's bin through the launcher in exec form, `serve` by default", () => {
    const entrypoint = JSON.parse(of(finalStage, "ENTRYPOINT").at(-1) ?? "null") as string[];
    expect(entrypoint).toEqual(["/usr/local/bin/credbridge"]);
    expect(JSON.parse(of(finalStage, "CMD").at(-1) ?? "null")).toEqual(["serve"]);
    const launcher = read("examples/image/rootfs/usr/local/bin/credbridge").split("\n");
    expect(launcher[0]).toBe("#!/usr/local/bin/node --disable-sigusr1");
    const bin = workspacePackages.get("@credbridge/cli")?.pkg.bin?.credbridge;
    expect(launcher).toContain(`require("${join("/app", bin!)}");`);
  });

  it("labels the version the CLI has, by default", () => {
    expect(of(finalStage, "ARG")).toContain(`VERSION=${cliVersion()}`);
  });

  it("keeps the host's node_modules, caches and build output out of the build context", () => {
    const ignore = read("examples/image/Dockerfile.dockerignore")
      .split("\n")
      .filter((l) => l.trim() && !l.startsWith("#"));
    expect(ignore).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", "**/.cache"]));
  });
});
