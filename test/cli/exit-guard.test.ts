import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { run } from "../support/run.js";

/** The test package: a child run here imports the bin's safety net by the CLI package's name, as built. */
const TEST_DIR = fileURLToPath(new URL("..", import.meta.url));

/**
 * Runs an ES module that has `failIfUnfinished` in scope, in a real Node process
 * (only a real exit shows it); resolves with its exit code and stderr.
 */
const runScript = async (body: string) => {
  const source = `import { failIfUnfinished } from "@credbridge/cli";\n${body}`;
  const { code, stderr } = await run(process.execPath, ["--input-type=module", "-e", source], {
    cwd: TEST_DIR,
  });
  return { code, stderr };
};

describe("the bin's safety net (failIfUnfinished)", () => {
  it("turns an exit with the command still pending (nothing holding the event loop) into exit 1, with a reason", async () => {
    // A promise nothing will ever settle: Node exits as soon as the script has run.
    expect(await runScript(`failIfUnfinished(new Promise(() => {}), "serve");`)).toEqual({
      code: 1,
      stderr: "credbridge serve: exited before the command finished (nothing kept it running)\n",
    });
  });

  it("leaves a finished command's exit alone, whether it resolved or failed", async () => {
    expect(await runScript(`failIfUnfinished(Promise.resolve(0), "serve");`)).toEqual({
      code: 0,
      stderr: "",
    });
    const failed = `const run = Promise.reject(new Error("x")); run.catch(() => {}); failIfUnfinished(run, "serve");`;
    expect(await runScript(failed)).toEqual({ code: 0, stderr: "" });
  });

  it("leaves an explicit exit alone (the second signal's 130)", async () => {
    const body = `failIfUnfinished(new Promise(() => {}), "serve"); setTimeout(() => process.exit(130), 10);`;
    expect(await runScript(body)).toEqual({ code: 130, stderr: "" });
  });
});
