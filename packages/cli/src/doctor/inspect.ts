import { readFile, stat } from "node:fs/promises";
import { decodeJwtClaims } from "@credbridge/core/wire";
import { SOURCE_ENV } from "../source-env.js";

/** Variables doctor reports. Token values are never shown, only whether they are set. */
const SHOWN = [...SOURCE_ENV, "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"];
const SECRET = [
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
];

export const inspectEnvironment = (
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const name of SHOWN) if (env[name]) out[name] = env[name]!;
  for (const name of SECRET) if (env[name]) out[name] = "(set, redacted)";
  for (const name of Object.keys(env).sort()) {
    if (name.startsWith("CREDBRIDGE_") && env[name]) out[name] = env[name]!;
  }
  return out;
};

/** The claims doctor shows. Decoded only: the signature is not (and cannot here be) verified. */
export interface TokenClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
}

export interface TokenFileReport {
  path: string;
  variable: string;
  exists: boolean;
  size?: number;
  error?: string;
  claims?: TokenClaims;
  /** Seconds until `exp`; negative once expired. */
  expiresInSeconds?: number;
}

export const inspectTokenFile = async (
  path: string,
  variable: string,
  now: number,
  jwt: boolean,
): Promise<TokenFileReport> => {
  const report: TokenFileReport = { path, variable, exists: false };
  try {
    report.size = (await stat(path)).size;
    report.exists = true;
    if (jwt) {
      const text = await readFile(path, "utf8");
      try {
        const { iss, sub, aud, exp } = decodeJwtClaims(text);
        report.claims = Object.fromEntries(
          Object.entries({ iss, sub, aud, exp }).filter(([, v]) => v !== undefined),
        ) as TokenClaims;
        if (exp !== undefined) report.expiresInSeconds = Math.round(exp - now / 1000);
      } catch (error) {
        report.error = `the file is not a JWT: ${(error as Error).message}`;
      }
    }
  } catch (error) {
    report.error = (error as { code?: string }).code ?? (error as Error).message;
  }
  return report;
};
