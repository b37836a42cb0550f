import { run } from "./run.js";

/**
 * Runs Debian's `promtool` (package `prometheus`), `input` on its stdin. A
 * missing binary fails the test that asked, naming the package: a check that
 * did not run never passes.
 */
export const promtool = (args: string[], options: { input?: string; cwd?: string } = {}) =>
  run("promtool", args, options).catch((error: NodeJS.ErrnoException) => {
    throw error.code === "ENOENT"
      ? new Error("promtool is not installed: install Debian's prometheus package (scripts/setup-debian.sh)")
      : error;
  });

/**
 * `promtool check metrics` on one scrape: its complaints (names, types,
 * units, help), none when the text passes its lint.
 */
export const lintMetrics = async (text: string): Promise<string> => {
  const r = await promtool(["check", "metrics"], { input: text });
  if (r.code === 0) return "";
  return `${r.stdout}${r.stderr}`.trim() || `promtool exited ${r.code}`;
};
