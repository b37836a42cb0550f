import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { buildOnce } from "../support/build-once.js";
import {
  archiveCandidates,
  buildHarborRegistry,
  DISTRIBUTION_ARCHIVE_ENV,
  findDistributionArchive,
} from "../support/distribution.js";
import { tempDir } from "../support/tmp.js";

describe("distribution's archive", () => {
  it("is looked for beside the repository (a clone) and beside its parent (a worktree)", () => {
    const [clone, worktree] = archiveCandidates();
    expect(clone).toMatch(/\/shared\/third-party\/distribution-v2\.8\.3\.tar\.gz$/);
    expect(worktree).toMatch(/\/shared\/third-party\/distribution-v2\.8\.3\.tar\.gz$/);
    expect(clone).not.toBe(worktree);
  });

  it(`${DISTRIBUTION_ARCHIVE_ENV} wins, and must name a file`, async () => {
    const tmp = await tempDir();
    try {
      const archive = tmp.path("d.tar.gz");
      await writeFile(archive, "");
      expect(findDistributionArchive({ [DISTRIBUTION_ARCHIVE_ENV]: archive }, [])).toBe(archive);
      expect(() => findDistributionArchive({ [DISTRIBUTION_ARCHIVE_ENV]: tmp.path("none") }, [])).toThrow(
        `${DISTRIBUTION_ARCHIVE_ENV}=${tmp.path("none")}: no such file`,
      );
    } finally {
      await tmp.cleanup();
    }
  });

  it("missing everywhere is an error naming every place looked, the variable and the tag to fetch", () => {
    const candidates = ["/nowhere/a/distribution-v2.8.3.tar.gz", "/nowhere/b/distribution-v2.8.3.tar.gz"];
    let message = "";
    try {
      findDistributionArchive({}, candidates);
    } catch (error) {
      message = (error as Error).message;
    }
    for (const expected of [
      ...candidates,
      DISTRIBUTION_ARCHIVE_ENV,
      "v2.8.3",
      "4772604ae973031ab32dd9805a4bccf61d94909f",
    ]) {
      expect(message).toContain(expected);
    }
  });

  it("builds Harbor's registry, v2.8.3, cached under the archive's sha256", {
    timeout: 600_000,
  }, async () => {
    const built = await buildHarborRegistry();
    expect(built.version).toBe("github.com/docker/distribution v2.8.3+unknown");
    const sha256 = createHash("sha256")
      .update(await readFile(findDistributionArchive()))
      .digest("hex");
    expect(built.binary).toContain(`/.cache/third-party/distribution-${sha256}/`);
    expect((await buildHarborRegistry()).buildMs).toBe(0);
  });
});

describe("buildOnce", () => {
  it("builds once for concurrent callers, who wait for it", async () => {
    const tmp = await tempDir();
    try {
      let builds = 0;
      const target = tmp.path("thing");
      // The build ends only once both other callers have found the lock held: they wait for it.
      const waiting = new Set<number>();
      let othersWaiting = () => {};
      const bothWaiting = new Promise<void>((resolve) => {
        othersWaiting = resolve;
      });
      const waitingAs = (caller: number) => () => {
        waiting.add(caller);
        if (waiting.size === 2) othersWaiting();
      };
      const build = async (temporary: string) => {
        builds++;
        await bothWaiting;
        await writeFile(temporary, "built");
      };
      const results = await Promise.all([
        buildOnce(target, build, { onWait: waitingAs(1) }),
        buildOnce(target, build, { onWait: waitingAs(2) }),
        buildOnce(target, build, { onWait: waitingAs(3) }),
      ]);
      expect(builds).toBe(1);
      expect(results.filter((r) => r.built)).toHaveLength(1);
      expect(await readFile(target, "utf8")).toBe("built");
      expect(existsSync(`${target}.lock`)).toBe(false);
    } finally {
      await tmp.cleanup();
    }
  });

  it("takes over the lock of a builder that died, and leaves nothing half-built after a failed build", async () => {
    const tmp = await tempDir();
    try {
      const target = tmp.path("thing");
      // No process has pid 2^22 + 1 (above Linux's pid_max default and close to its ceiling).
      await writeFile(`${target}.lock`, String(4_194_305));
      await expect(
        buildOnce(target, async (temporary) => {
          await writeFile(temporary, "half");
          throw new Error("compiler crashed");
        }),
      ).rejects.toThrow("compiler crashed");
      expect(existsSync(target)).toBe(false);
      expect(existsSync(`${target}.lock`)).toBe(false);
      await buildOnce(target, (temporary) => writeFile(temporary, "whole"));
      expect(await readFile(target, "utf8")).toBe("whole");
    } finally {
      await tmp.cleanup();
    }
  });
});
