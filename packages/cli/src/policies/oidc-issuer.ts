/** What an issuer may be, for errors: the form IAM registers OIDC providers under. */
export const ISSUER_FORM =
  "https://HOST[/PATH]: a DNS host name (no port, user, IP address, query or fragment), path segments of letters, digits and '-._~' (no '.' or '..'), 255 characters at most; e.g. https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SEGMENT = /^[\w.~-]+$/;

/**
 * The issuer's `host/path`, as IAM names the provider (`oidc-provider/<host/path>`) and the
 * condition keys (`<host/path>:sub`); or why it cannot be one. Read from the text as given, not
 * through `URL`, which would quietly resolve `/id/X/../..` to the host alone: whatever lands
 * in the policy is what was typed, and nothing in it is a wildcard (`*`, `?`) or a variable (`$`).
 */
export const parseIssuer = (issuer: string): { hostPath: string } | { problem: string } => {
  if (issuer.length > 255) return { problem: `is ${issuer.length} characters; IAM takes 255 at most` };
  const m = /^https:\/\/([^/]*)(\/.*)?$/i.exec(issuer);
  if (!m) return { problem: "is not an https URL, as IAM requires of OIDC providers" };
  const host = m[1]!.toLowerCase();
  const path = (m[2] ?? "").replace(/\/+$/, "");
  const labels = host.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels.at(-1)!)) {
    return { problem: `has host ${JSON.stringify(m[1])}: a DNS name is needed` };
  }
  const segments = path === "" ? [] : path.slice(1).split("/");
  if (segments.some((s) => !SEGMENT.test(s) || s === "." || s === "..")) {
    return { problem: `has path ${JSON.stringify(m[2])}, not one IAM registers as given` };
  }
  return { hostPath: `${host}${path}` };
};
