import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveRuntime } from "../runtime.js";
import { readTokenFile } from "./token-file.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-token-file-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readTokenFile", () => {
  it("refuses a file larger than any token, saying so rather than blaming the role", async () => {
    const path = join(dir, "token");
    await writeFile(path, "e".repeat(100_000));
    const read = readTokenFile(resolveRuntime(), path, "AWS_WEB_IDENTITY_TOKEN_FILE", "web-identity token");
    await expect(read).rejects.toMatchObject({ code: "ERR_TOKEN_FILE" });
    await expect(read).rejects.toThrow(
      `cannot read the web-identity token file ${path} (AWS_WEB_IDENTITY_TOKEN_FILE): it is larger than 65536 bytes, which no token is (does the path name the token?)`,
    );
  });
});
