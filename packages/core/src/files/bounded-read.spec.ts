import * as fs from "node:fs";
import { mkdtemp, open, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileTooLargeError, readBounded, readBoundedFd, readBoundedSync } from "./bounded-read.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-bounded-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every way of reading: with a FileHandle, a descriptor in the thread pool, and synchronously. */
const readers = {
  handle: async (path: string, max: number) => {
    const h = await open(path, "r");
    try {
      return await readBounded(h, max);
    } finally {
      await h.close();
    }
  },
  fd: async (path: string, max: number) => {
    const fd = fs.openSync(path, "r");
    try {
      return await readBoundedFd(fd, max);
    } finally {
      fs.closeSync(fd);
    }
  },
  sync: async (path: string, max: number) => {
    const fd = fs.openSync(path, "r");
    try {
      return readBoundedSync(fs, fd, max);
    } finally {
      fs.closeSync(fd);
    }
  },
};

describe.each(Object.entries(readers))("reading at most N bytes (%s)", (_, read) => {
  it("reads a file of exactly N bytes, and of more than one chunk, whole", async () => {
    const text = "x".repeat(40_000);
    await writeFile(join(dir, "f"), text);
    expect((await read(join(dir, "f"), 40_000)).toString()).toBe(text);
  });

  it("refuses one byte more, counted as read", async () => {
    await writeFile(join(dir, "f"), "x".repeat(101));
    await expect(read(join(dir, "f"), 100)).rejects.toBeInstanceOf(FileTooLargeError);
  });

  it("stops a procfs file whose size says 0 and whose content does not end, at once", async () => {
    expect(fs.statSync("/proc/self/pagemap").size).toBe(0);
    const started = performance.now();
    await expect(read("/proc/self/pagemap", 16 * 1024)).rejects.toThrow(/larger than 16384 bytes/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("stops a sparse gigabyte after N bytes", async () => {
    await writeFile(join(dir, "sparse"), "");
    await truncate(join(dir, "sparse"), 1024 ** 3);
    await expect(read(join(dir, "sparse"), 64 * 1024)).rejects.toMatchObject({ code: "ERR_FILE_TOO_LARGE" });
  });
});
