import { spawn } from "node:child_process";

/** What promtool printed and how it exited. */
export interface PromtoolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs Debian's `promtool` (package `prometheus`). A missing binary fails the
 * test that asked, naming the package: a check that did not run never passes.
 */
export const promtool = (args: string[], stdin?: string, cwd?: string): Promise<PromtoolResult> =>
  new Promise((resolve, reject) => {
    const child = spawn("promtool", args, { stdio: ["pipe", "pipe", "pipe"], cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "ENOENT"
          ? new Error(
              "promtool is not installed: install Debian's prometheus package (scripts/setup-debian.sh)",
            )
          : error,
      ),
    );
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });

/**
 * `promtool check metrics` on one scrape: its complaints (names, types,
 * units, help), none when the text passes its lint.
 */
export const lintMetrics = async (text: string): Promise<string> => {
  const r = await promtool(["check", "metrics"], text);
  if (r.code === 0) return "";
  return `${r.stdout}${r.stderr}`.trim() || `promtool exited ${r.code}`;
};
