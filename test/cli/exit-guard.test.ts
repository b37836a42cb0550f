import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

/** The bin's safety net, as built (dist/), run in a real Node process: only a real exit shows it. */
const GUARD = new URL("../../packages/cli/dist/exit-guard.js", import.meta.url).href;

/** Runs an ES module that has `failIfUnfinished` in scope; resolves with its exit code and stderr. */
const runScript = (body: string) =>
  new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const source = `import { failIfUnfinished } from ${JSON.stringify(GUARD)};\n${body}`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", source], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });

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
