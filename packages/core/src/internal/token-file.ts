import { CredbridgeError } from "../errors.js";
import type { Runtime } from "../runtime.js";

/** A web-identity token (a JWT): surrounding whitespace is never part of it. */
const trimmedToken = (text: string, where: string): string => {
  const token = text.trim();
  if (!token) {
    throw new CredbridgeError(`${where} is empty: the kubelet may not have written it yet`, {
      code: "ERR_TOKEN_FILE",
    });
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
    text = await rt.readTextFile(path);
  } catch (cause) {
    const code = (cause as { code?: string })?.code;
    const why =
      code === "ENOENT"
        ? "it does not exist (is the projected token volume mounted?)"
        : code === "EACCES"
          ? "permission denied (check the pod's fsGroup or runAsUser against the file's mode)"
          : `${code ?? (cause as Error)?.message ?? "read failed"}`;
    throw new CredbridgeError(`cannot read the ${what} file ${path} (${variable}): ${why}`, {
      code: "ERR_TOKEN_FILE",
      cause,
    });
  }
  return parse(text, `the ${what} file ${path} (${variable})`);
};
