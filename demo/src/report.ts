export interface Row {
  round: "before" | "after";
  client: string;
  path: string;
  key: string;
  arn: string;
  ok: boolean;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));

/** A short readable report: who got which key through which path, before and after a refresh. */
export const formatReport = (
  rows: Row[],
  totals: { webIdentity: number; assumeRole: number; credentialSets: number; ok: boolean },
): string => {
  const widths = [8, 22, 40, 10];
  const line = (cells: string[]) => `  ${cells.map((c, i) => pad(c, widths[i] ?? 0)).join("  ")}`.trimEnd();
  const out = [
    "",
    line(["round", "client", "path", "key", "result"]),
    line(["-----", "------", "----", "---", "------"]),
  ];
  for (const r of rows) {
    out.push(line([r.round, r.client, r.path, r.key, r.ok ? `ok  ${r.arn}` : `FAIL ${r.arn}`]));
  }
  out.push(
    "",
    `  ${rows.filter((r) => r.ok).length}/${rows.length} checks matched the emulator's issued credentials exactly.`,
    `  STS calls for ${totals.credentialSets} credential sets shared by every output: ${totals.webIdentity} AssumeRoleWithWebIdentity, ${totals.assumeRole} AssumeRole (self-assume); the web-identity session signs until it nears expiry.`,
    totals.ok ? "  demo passed" : "  demo FAILED",
    "",
  );
  return out.join("\n");
};
