import * as nodeFs from "node:fs";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DirectoryFs } from "./dir-handle.js";
import { type OpenDirectoryErrors, openDirectory } from "./open-directory.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-opendir-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const errors: OpenDirectoryErrors = {
  failed: (action, error) => new Error(`${action}: ${(error as { code?: string }).code}`),
  refused: (kind, where, why) => new Error(`${kind}: ${where} ${why}`),
};

/** The real file system, with `.aws` swapped between a link and a directory at each readlink: another user racing the walk. */
const swappingFs = (aws: string, times: number): DirectoryFs => {
  let swaps = 0;
  return {
    ...nodeFs,
    readlinkSync: ((path: string, options: "utf8") => {
      if (swaps++ < times) {
        // Between the walk's lstat (a link) and its readlink: now a directory.
        nodeFs.unlinkSync(aws);
        nodeFs.mkdirSync(aws);
        const result = nodeFs.readlinkSync(path, options);
        return result;
      }
      return nodeFs.readlinkSync(path, options);
    }) as DirectoryFs["readlinkSync"],
    openSync: ((path: string, flags: number, mode?: number) => {
      // Put the link back before every open, so each look finds one.
      if (swaps < times && path.endsWith("/.aws") && nodeFs.lstatSync(aws).isDirectory()) {
        nodeFs.rmdirSync(aws);
        nodeFs.symlinkSync(join(dir, "real"), aws);
      }
      return nodeFs.openSync(path, flags, mode);
    }) as DirectoryFs["openSync"],
  };
};

describe("openDirectory", () => {
  it("opens a component that changes between its lstat and its readlink, looking again", async () => {
    await mkdir(join(dir, "real"));
    await symlink(join(dir, "real"), join(dir, ".aws"));
    const opened = openDirectory(swappingFs(join(dir, ".aws"), 1), join(dir, ".aws"), { errors });
    expect(opened?.dir.path).toBe(join(dir, ".aws"));
    opened?.close();
  });

  it("gives up on one that keeps changing, naming its real path, not a /proc/self/fd one", async () => {
    await mkdir(join(dir, "real"));
    await symlink(join(dir, "real"), join(dir, ".aws"));
    expect(() => openDirectory(swappingFs(join(dir, ".aws"), 100), join(dir, ".aws"), { errors })).toThrow(
      `raced: ${dir}/.aws kept changing while it was being opened (EINVAL): another user is replacing it`,
    );
  });
});
