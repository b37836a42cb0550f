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

/**
 * The scrape jobs the rules watch, as their `up` alerts name them: the
 * sidecars' (CredbridgeSidecarDown) and the webhook's (CredbridgeWebhookDown).
 * Both scrape configurations must give their targets these `job` labels.
 */
export const scrapeJobsOf = (rules: RulesFile): { sidecar: string; webhook: string } => {
  const job = (alert: string) => {
    const expr = alertsOf(rules).find((a) => a.alert === alert)?.expr ?? "";
    const m = /\bup\{job="([^"]+)"\}/.exec(expr);
    if (!m) throw new Error(`${alert} selects no up{job="…"}: ${expr}`);
    return m[1]!;
  };
  return { sidecar: job("CredbridgeSidecarDown"), webhook: job("CredbridgeWebhookDown") };
};
