import type { AmbientDetection } from "@credbridge/core";
import type { TokenFileReport } from "./inspect.js";

export interface StepReport {
  label: string;
  ok: boolean;
  arn?: string;
  account?: string;
  /** Masked: last four characters only. */
  accessKeyId?: string;
  expiration?: string;
  error?: string;
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  source: AmbientDetection;
  environment: Record<string, string>;
  tokenFile?: TokenFileReport;
  containerTokenFile?: TokenFileReport;
  steps: StepReport[];
  firstBroken?: string;
}

const ago = (seconds: number): string => {
  const abs = Math.abs(seconds);
  const text =
    abs >= 3600
      ? `${Math.floor(abs / 3600)}h ${Math.floor((abs % 3600) / 60)}m`
      : `${Math.floor(abs / 60)}m ${abs % 60}s`;
  return seconds < 0 ? `expired ${text} ago` : `in ${text}`;
};

const tokenLines = (title: string, t: TokenFileReport): string[] => {
  const lines = [
    `${title}: ${t.path} (${t.variable}): ${t.exists ? `exists, ${t.size} bytes` : "MISSING"}${t.error && t.exists ? `; ${t.error}` : ""}`,
  ];
  if (!t.exists && t.error) lines.push(`  ${t.error}`);
  const c = t.claims;
  if (c) {
    lines.push(
      `  iss: ${c.iss ?? "-"}`,
      `  sub: ${c.sub ?? "-"}`,
      `  aud: ${[c.aud ?? "-"].flat().join(", ")}`,
    );
    if (c.exp !== undefined) {
      lines.push(
        `  exp: ${new Date(c.exp * 1000).toISOString()} (${ago(t.expiresInSeconds ?? 0)}) [claims decoded, not verified]`,
      );
    }
  }
  return lines;
};

export const formatReport = (r: DoctorReport): string => {
  const lines = ["credbridge doctor", `source: ${r.source.source} (${r.source.reason})`, "environment:"];
  const env = Object.entries(r.environment);
  lines.push(
    ...(env.length ? env.map(([k, v]) => `  ${k}=${v}`) : ["  (no AWS or CREDBRIDGE variables set)"]),
  );
  if (r.tokenFile) lines.push(...tokenLines("web-identity token", r.tokenFile));
  if (r.containerTokenFile) lines.push(...tokenLines("container authorization token", r.containerTokenFile));
  lines.push("chain:");
  for (const s of r.steps) {
    if (s.ok) {
      lines.push(
        `  ok   ${s.label}: ${s.arn} (account ${s.account}, key ${s.accessKeyId}, expires ${s.expiration ?? "never"})`,
      );
    } else {
      lines.push(`  FAIL ${s.label}: ${s.error}`);
      if (s.fix) lines.push(`       fix: ${s.fix}`);
    }
  }
  lines.push(r.ok ? "result: every step works" : `result: broken at "${r.firstBroken}"`);
  return `${lines.join("\n")}\n`;
};
