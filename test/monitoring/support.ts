import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse } from "yaml";

/** examples/monitoring/, where the rules, their generator, their tests and the dashboard live. */
export const MONITORING = fileURLToPath(new URL("../../examples/monitoring/", import.meta.url));
export const README = fileURLToPath(new URL("../../README.md", import.meta.url));

const run = promisify(execFile);

/**
 * Runs the rules' one source, `node examples/monitoring/generate.ts`, writing
 * both files into `out` (with every duration divided by `compress`), on the
 * Node running the tests.
 */
export const generateRules = async (out: string, compress = 1): Promise<void> => {
  await run(process.execPath, [`${MONITORING}generate.ts`, "--out", out, "--compress", String(compress)]);
};

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RulesFile {
  groups: { name: string; rules: AlertRule[] }[];
}

export const readYaml = async <T>(path: string): Promise<T> => parse(await readFile(path, "utf8")) as T;

export const alertsOf = (rules: RulesFile): AlertRule[] => rules.groups.flatMap((g) => g.rules);

/** GitHub's anchor for a heading: lower case, punctuation but hyphens dropped, spaces to hyphens. */
export const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
