import { CredbridgeError, isCredbridgeError } from "../errors.js";
import { FileTooLargeError } from "../files/bounded-read.js";
import type { Runtime } from "../runtime.js";
import { withDeadline } from "./deadline.js";

/**
 * How long reading a token file may take. A local or projected volume answers
 * in microseconds; a hung network mount, or a FIFO nobody writes, never would.
 */
export const TOKEN_READ_TIMEOUT_MS = 5_000;

/** A web-identity token (a JWT): surrounding whitespace is never part of it. */
const trimmedToken = (text: string, where: string): string => {
  const token = text.trim();
  if (!token) {
    // The kubelet writes a projected token before the pod's containers start and
    // replaces it atomically, so an empty file is not a race to wait out.
    throw new CredbridgeError(
      `${where} is empty: a projected service-account token is written before the pod's containers start and replaced atomically, so check that the volume is mounted and that the path names the token in it (if something else writes the file, have it write atomically)`,
      { code: "ERR_TOKEN_FILE" },
    );
  }
  return token;
};

/**
 * Reads a token file afresh (the kubelet and the pod-identity webhook rotate
 * them in place) and takes the token from it by `parse` (default: trimmed, not
 * empty). The error names the file and the variable it came from, never the token.
 */
export const readTokenFile = async (
  rt: Runtime,
  path: string,
  variable: string,
  what: string,
  parse: (text: string, where: string) => string = trimmedToken,
): Promise<string> => {
  let text: string;
  try {
    text = await withDeadline(
      rt,
      TOKEN_READ_TIMEOUT_MS,
      (signal) => rt.readTextFile(path, { signal }),
      () =>
        new CredbridgeError(
          `reading the ${what} file ${path} (${variable}) did not finish within ${TOKEN_READ_TIMEOUT_MS} ms: is it on a hung network volume, or not a regular file?`,
          { code: "ERR_TIMEOUT" },
        ),
    );
  } catch (cause) {
    if (isCredbridgeError(cause)) throw cause;
    const code = (cause as { code?: string })?.code;
    const why =
      code === "ENOENT"
        ? "it does not exist (is the projected token volume mounted?)"
        : code === "EACCES"
          ? "permission denied (check the pod's fsGroup or runAsUser against the file's mode)"
          : cause instanceof FileTooLargeError
            ? `it is ${cause.message}, which no token is (does the path name the token?)`
            : `${code ?? (cause as Error)?.message ?? "read failed"}`;
    throw new CredbridgeError(`cannot read the ${what} file ${path} (${variable}): ${why}`, {
      code: "ERR_TOKEN_FILE",
      cause,
    });
  }
  return parse(text, `the ${what} file ${path} (${variable})`);
};
