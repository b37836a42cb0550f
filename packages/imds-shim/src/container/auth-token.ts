import { timingSafeEqual } from "node:crypto";
import { statSync } from "node:fs";
import { CredbridgeError } from "@credbridge/core";
import { describeFileError, readTrustedFile, UntrustedFileError } from "@credbridge/core/files";
import { parseAuthorizationToken } from "@credbridge/core/wire";

/** Where the expected `Authorization` value comes from. */
export interface AuthTokenSource {
  /** Throws ERR_CONFIG unless exactly one of token and file is configured and the token is well-formed. */
  validate(): void;
  /**
   * The current token, ready to compare: at once for `authToken`; for a file, after a
   * `stat`, at once while it is unchanged and re-read (a promise) when it
   * changed. Throws or rejects with ERR_TOKEN_FILE.
   */
  current(): ExpectedToken | Promise<ExpectedToken>;
}

/** Larger than any token: such a file is refused after reading this much of it. */
const MAX_TOKEN_FILE_BYTES = 16 * 1024;

export const createAuthTokenSource = (options: {
  authToken?: string | undefined;
  authTokenFile?: string | undefined;
  /** Who the file may belong to besides root and this process's user (see the server's option). */
  authTokenFileOwner?: number | undefined;
}): AuthTokenSource => {
  const { authToken, authTokenFile } = options;
  const owners = options.authTokenFileOwner === undefined ? [] : [options.authTokenFileOwner];
  // Keyed by what stat reports, so an in-place rewrite and an atomic rename (a
  // Secret volume's symlink swap) are both noticed without reading every time.
  // `value` is set once the read succeeded: from then on a request whose stat
  // shows the same file is checked without a promise.
  let cached: { key: string; token: Promise<ExpectedToken>; value?: ExpectedToken } | undefined;
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

  /**
   * Whoever could choose the token could take the credentials: the file is
   * read only when nobody but root, this user and the user it was made for
   * could have written it or planted a link to it (see core's
   * `readTrustedFile`), and at most 16 KiB of it, off the event loop: a
   * procfs file swapped in (size 0, content without end) is cut off there.
   */
  const read = async (path: string): Promise<ExpectedToken> => {
    let text: string;
    try {
      text = (await readTrustedFile(path, { owners, maxBytes: MAX_TOKEN_FILE_BYTES })).bytes.toString("utf8");
    } catch (cause) {
      throw new CredbridgeError(
        `cannot read the authorization token file ${path}: ${describeFileError(cause)}`,
        { code: "ERR_TOKEN_FILE", cause },
      );
    }
    // The rule core's client reads the same file by: both sides agree on every token.
    return expectedToken(parseAuthorizationToken(text, `the authorization token file ${path}`));
  };

  const current = (): ExpectedToken | Promise<ExpectedToken> => {
    if (authToken === undefined) return thisTurn ?? checkFile(authTokenFile as string);
    fixed ??= expectedToken(parseAuthorizationToken(authToken, "container server: authToken", "ERR_CONFIG"));
    return fixed;
  };

  // One stat serves every request answered in the same event-loop turn. They
  // were all received before the turn began, hence before the stat: a request
  // sent after the file changed (by a client that read the new token) arrives
  // in a later turn and sees the change, exactly as with a stat per request.
  let thisTurn: ExpectedToken | Promise<ExpectedToken> | undefined;
  const endTurn = (): void => {
    thisTurn = undefined;
  };
  const checkFile = (path: string): ExpectedToken | Promise<ExpectedToken> => {
    const expected = fromFile(path);
    thisTurn = expected;
    setImmediate(endTurn);
    return expected;
  };

  // A synchronous stat: the token file sits on a local volume
  // (a projected or Secret volume), where it takes microseconds; the async one
  // went through the thread pool and was a third of a request's CPU time.
  const fromFile = (path: string): ExpectedToken | Promise<ExpectedToken> => {
    let key: string;
    try {
      const s = statSync(path);
      // Reading a FIFO or a device would hold a thread-pool thread for good
      // (whoever shares the volume can swap one in): only a regular file is read.
      if (!s.isFile()) throw new UntrustedFileError("it is not a regular file");
      // A new owner or mode changes ctime: the trust checks run again.
      key = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (cause) {
      cached = undefined;
      throw new CredbridgeError(
        `cannot read the authorization token file ${path}: ${describeFileError(cause)}`,
        { code: "ERR_TOKEN_FILE", cause },
      );
    }
    if (cached?.key === key) return cached.value ?? cached.token;
    const token = read(path);
    const entry: { key: string; token: Promise<ExpectedToken>; value?: ExpectedToken } = { key, token };
    cached = entry;
    token.then(
      (value) => {
        entry.value = value;
      },
      // A failed read (a refused file) is not remembered: the next request tries again.
      () => {
        if (cached === entry) cached = undefined;
      },
    );
    return token;
  };

  return { validate, current };
};

/**
 * The expected token in the form compared against: its UTF-16 code units,
 * zero-padded to a fixed size, with a scratch buffer of that size for the
 * presented value (requests are checked one at a time, synchronously).
 */
export interface ExpectedToken {
  /** The token's length in UTF-16 code units. */
  readonly units: number;
  readonly padded: Buffer;
  readonly scratch: Buffer;
}

/**
 * Tokens up to 64 code units (credbridge's own are 43) are compared over the
 * same 128 bytes; a longer one over the next power of two. Each doubling costs
 * time on every request (512 bytes took 2.4 times as long as 128 here).
 */
const MIN_COMPARE_BYTES = 128;

export const expectedToken = (token: string): ExpectedToken => {
  const size = Math.max(MIN_COMPARE_BYTES, 2 ** Math.ceil(Math.log2(Math.max(1, token.length * 2))));
  const padded = Buffer.alloc(size);
  padded.write(token, "utf16le");
  return { units: token.length, padded, scratch: Buffer.alloc(size) };
};

/**
 * Compares a presented `Authorization` value with the token in constant time:
 * both as UTF-16 code units (exactly JavaScript string equality) in buffers of
 * one fixed size, so the comparison takes the same time whatever either holds,
 * and the lengths are compared as numbers after it. What varies is only the
 * copy of the presented value, by its own length (capped at the buffer).
 *
 * Why not hash both sides (SHA-256, as before): the same guarantee, but the
 * hash was ~1.4 µs a request, a twentieth of the container endpoint's CPU per
 * request under load; this is ~0.2 µs.
 */
export const tokensMatch = (presented: string, expected: ExpectedToken): boolean => {
  const { padded, scratch, units } = expected;
  // Zeroes only past what was written: that varies with the presented value's length alone.
  scratch.fill(0, scratch.write(presented, "utf16le"));
  const same = timingSafeEqual(scratch, padded);
  return same && presented.length === units;
};
