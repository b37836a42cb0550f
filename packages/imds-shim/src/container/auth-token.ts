import { createHash, timingSafeEqual } from "node:crypto";
import { stat } from "node:fs/promises";
import { CredbridgeError, type Runtime } from "@credbridge/core";
import { parseAuthorizationToken } from "@credbridge/core/wire";

/** Where the expected `Authorization` value comes from. */
export interface AuthTokenSource {
  /** Throws ERR_CONFIG unless exactly one of token and file is configured and the token is well-formed. */
  validate(): void;
  /**
   * The current token, hashed: at once for `authToken`; for a file, after a
   * `stat`, re-read whenever it changed. Rejects with ERR_TOKEN_FILE.
   */
  current(): ExpectedToken | Promise<ExpectedToken>;
}

export const createAuthTokenSource = (
  options: { authToken?: string | undefined; authTokenFile?: string | undefined },
  rt: Runtime,
): AuthTokenSource => {
  const { authToken, authTokenFile } = options;
  // Keyed by what stat reports, so an in-place rewrite and an atomic rename (a
  // Secret volume's symlink swap) are both noticed without reading every time.
  let cached: { key: string; token: Promise<ExpectedToken> } | undefined;
  let fixed: ExpectedToken | undefined;

  const validate = (): void => {
    if ((authToken === undefined) === (authTokenFile === undefined)) {
      throw new CredbridgeError(
        "container server: set exactly one of authToken and authTokenFile; every request must carry it in Authorization",
        { code: "ERR_CONFIG" },
      );
    }
    if (authToken !== undefined) {
      fixed = expectedToken(parseAuthorizationToken(authToken, "container server: authToken", "ERR_CONFIG"));
    }
  };

  const read = async (path: string): Promise<ExpectedToken> => {
    let text: string;
    try {
      text = await rt.readTextFile(path);
    } catch (cause) {
      throw new CredbridgeError(
        `cannot read the authorization token file ${path}: ${(cause as { code?: string }).code ?? (cause as Error).message}`,
        { code: "ERR_TOKEN_FILE", cause },
      );
    }
    // The rule core's client reads the same file by: both sides agree on every token.
    return expectedToken(parseAuthorizationToken(text, `the authorization token file ${path}`));
  };

  const current = (): ExpectedToken | Promise<ExpectedToken> => {
    if (authToken === undefined) return fromFile(authTokenFile as string);
    fixed ??= expectedToken(parseAuthorizationToken(authToken, "container server: authToken", "ERR_CONFIG"));
    return fixed;
  };

  const fromFile = async (path: string): Promise<ExpectedToken> => {
    let key: string;
    try {
      const s = await stat(path);
      key = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (cause) {
      cached = undefined;
      throw new CredbridgeError(
        `cannot read the authorization token file ${path}: ${(cause as { code?: string }).code ?? (cause as Error).message}`,
        { code: "ERR_TOKEN_FILE", cause },
      );
    }
    if (cached?.key !== key) {
      const token = read(path);
      cached = { key, token };
      // A failed read is not remembered: the next request tries again.
      token.catch(() => {
        if (cached?.token === token) cached = undefined;
      });
    }
    return cached.token;
  };

  return { validate, current };
};

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/** The expected token in the form compared against: its SHA-256. */
export type ExpectedToken = Buffer;

export const expectedToken = (token: string): ExpectedToken => digest(token);

/**
 * Compares a presented `Authorization` value with the token in constant time.
 * Both sides are hashed (the expected one once, when read), so neither the
 * comparison's duration nor an early length check reveals how long the token is.
 */
export const tokensMatch = (presented: string, expected: ExpectedToken): boolean =>
  timingSafeEqual(digest(presented), expected);
