import { existsSync } from "node:fs";
import { relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";

let fx: Awaited<ReturnType<typeof irsaFixture>>;
beforeAll(async () => {
  fx = await irsaFixture();
});
afterAll(() => fx.close());

describe("credbridge serve: the paths it writes", () => {
  it("refuses the same file for --credentials-file and --container-auth-token-file, before any STS call", async () => {
    const path = fx.tmp.path("shared", "credentials");
    for (const tokenFile of [path, relative(process.cwd(), path)]) {
      const result = await runCli(
        [
          "serve",
          "--credentials-file",
          path,
          "--container-endpoint",
          "127.0.0.1:0",
          "--container-auth-token-file",
          tokenFile,
        ],
        fx.env(),
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `--credentials-file and --container-auth-token-file name the same file (${path})`,
      );
    }
    expect(fx.sts.calls).toHaveLength(0);
    expect(existsSync(path)).toBe(false);
  });
});
