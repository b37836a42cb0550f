import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Creates the container endpoint's token file with a random token when it does
 * not exist (mode and owner like the credentials file, 0600 by default), so the
 * sidecar and the application can share it through a volume: an app running as
 * another user reads it through the pod's fsGroup (0640) or as its owner. An
 * existing file is left as it is.
 */
export const ensureAuthTokenFile = async (
  path: string,
  owner: string | undefined,
  mode = 0o600,
): Promise<boolean> => {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    // No trailing newline: aws-sdk v2 and v3 send the file's bytes as the header, and Node refuses a newline in one.
    await writeFile(path, randomBytes(32).toString("base64url"), { mode, flag: "wx" });
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw error;
  }
  // The umask may have taken bits the mode asked for.
  await chmod(path, mode);
  if (owner) {
    const [uid, gid] = owner.split(":").map(Number) as [number, number];
    await chown(path, uid, gid);
  }
  return true;
};
