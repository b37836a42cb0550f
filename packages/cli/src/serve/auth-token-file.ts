import { randomBytes } from "node:crypto";
import { chown, mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Creates the container endpoint's token file with a random token when it does
 * not exist (0600, owned like the credentials file), so the sidecar and the
 * application can share it through a volume. An existing file is left as it is.
 */
export const ensureAuthTokenFile = async (path: string, owner: string | undefined): Promise<boolean> => {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    // No trailing newline: aws-sdk v2 and v3 send the file's bytes as the header, and Node refuses a newline in one.
    await writeFile(path, randomBytes(32).toString("base64url"), { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw error;
  }
  if (owner) {
    const [uid, gid] = owner.split(":").map(Number) as [number, number];
    await chown(path, uid, gid);
  }
  return true;
};
