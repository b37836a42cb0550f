import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { run } from "../support/run.js";

const DEMO = fileURLToPath(new URL("../../demo/dist/main.js", import.meta.url));

describe("the README's main command (the demo)", () => {
  it("resolves the issued identity through every path and client, before and after a refresh, and exits 0", async () => {
    const { code, stdout, stderr } = await run(process.execPath, [DEMO], { env: { PATH: process.env.PATH } });
    const result = { code, out: stdout + stderr };
    expect(result.code, result.out).toBe(0);
    expect(result.out).toMatch(/13\/13 checks matched the emulator's issued credentials exactly/);
    for (const path of ["credentials file", "IMDS", "container endpoint"]) {
      expect(result.out).toMatch(new RegExp(`before +aws-sdk v2 \\(legacy\\) +${path} +\\*{4}\\w{4} +ok`));
      expect(result.out).toMatch(new RegExp(`after +AWS SDK v3 +${path}`));
    }
    expect(result.out).toMatch(/1 AssumeRoleWithWebIdentity, 2 AssumeRole/);
    expect(result.out).not.toMatch(/FAIL/);
  });
});
