import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveRuntime } from "./runtime.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-runtime-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the runtime's readTextFile (token files)", () => {
  it("reads at most 64 KiB by default: a sparse 100 MB token file is refused, not read into memory", async () => {
    const path = join(dir, "token");
    await writeFile(path, "");
    await truncate(path, 100 * 1024 * 1024);
    const before = process.memoryUsage().rss;
    await expect(resolveRuntime().readTextFile(path)).rejects.toThrow(/larger than 65536 bytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
  });
});
