import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createStdoutWriter } from "./stdout.js";

describe("createStdoutWriter", () => {
  it("writes every byte, in order, multi-byte characters included", () => {
    const dir = mkdtempSync(join(tmpdir(), "credbridge-stdout-"));
    const file = join(dir, "out");
    const fd = openSync(file, "w");
    try {
      const write = createStdoutWriter(fd);
      write('{"Version":1}\n');
      write(`${"é".repeat(70_000)}\n`);
      write("end\n");
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file, "utf8")).toBe(`{"Version":1}\n${"é".repeat(70_000)}\nend\n`);
    rmSync(dir, { recursive: true, force: true });
  });
});
