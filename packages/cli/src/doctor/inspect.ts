import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { describeFileError, readBounded } from "@credbridge/core/files";
import { decodeJwtClaims } from "@credbridge/core/wire";
import { knownVariables, unknownVariables } from "../args/env-names.js";
import { SOURCE_ENV } from "../source-env.js";

/** Variables doctor reports. Token values are never shown, only whether they are set. */
const SHOWN = [...SOURCE_ENV, "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"];
const SECRET = [
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
];

/**
 * An external id is the one value in a role hop its role's trust policy checks:
 * not a secret to AWS, but a report pasted into a ticket need not carry it.
 */
const withoutExternalIds = (name: string, value: string): string =>
  name === "CREDBRIDGE_EXTERNAL_ID"
    ? "(set, not shown)"
    : value.replace(/(^|[,\s])external-id=[^,\s]*/g, "$1external-id=(not shown)");

export const inspectEnvironment = (
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const name of SHOWN) if (env[name]) out[name] = env[name]!;
  for (const name of SECRET) if (env[name]) out[name] = "(set, redacted)";
  // A command's own variables are its configuration; any other CREDBRIDGE_* name may hold
  // anything (CREDBRIDGE_SECRET_ACCESS_KEY, a pasted token): named, never shown.
  const known = knownVariables();
  for (const name of Object.keys(env).sort()) {
    if (known.has(name) && env[name]) out[name] = withoutExternalIds(name, env[name]!);
  }
  const unknown = unknownVariables(env);
  for (const v of unknown.listed) out[v.name] = "(set, not a credbridge variable: not shown)";
  if (unknown.unlisted > 0)
    out["CREDBRIDGE_*"] = `(${unknown.unlisted} more not credbridge variables: not shown)`;
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

/** Larger than any token (STS takes web-identity tokens of up to 20 000 characters). */
const MAX_TOKEN_BYTES = 64 * 1024;

/**
 * What doctor shows of a token file. Opened O_NONBLOCK and read only if it is
 * a regular file, at most 64 KiB of it: a FIFO nobody writes (or a device)
 * would otherwise hold a thread-pool thread that no signal can take back, and
 * the process could never exit.
 */
export const inspectTokenFile = async (
  path: string,
  variable: string,
  now: number,
  jwt: boolean,
): Promise<TokenFileReport> => {
  const report: TokenFileReport = { path, variable, exists: false };
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = await handle.stat();
    report.size = st.size;
    report.exists = true;
    if (!st.isFile()) {
      report.error = "not a regular file (a FIFO or a device?)";
      return report;
    }
    if (jwt) {
      const text = (await readBounded(handle, MAX_TOKEN_BYTES)).toString("utf8");
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
    const code = (error as { code?: string }).code;
    report.error = code && code !== "ERR_FILE_TOO_LARGE" ? code : describeFileError(error);
  } finally {
    await handle?.close();
  }
  return report;
};
