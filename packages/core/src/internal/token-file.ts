import { CredbridgeError } from "../errors.js";
import type { Runtime } from "../runtime.js";

/**
 * Reads a token file afresh (the kubelet and the pod-identity webhook rotate
 * them in place). The error names the file and the variable it came from, never
 * the token.
 */
export const readTokenFile = async (
  rt: Runtime,
  path: string,
  variable: string,
  what: string,
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
  const token = text.trim();
  if (!token) {
    throw new CredbridgeError(
      `the ${what} file ${path} (${variable}) is empty: the kubelet may not have written it yet`,
      { code: "ERR_TOKEN_FILE" },
    );
  }
  return token;
};
