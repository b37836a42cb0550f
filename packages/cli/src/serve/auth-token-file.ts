import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";

/** `"10000:10000"` → ids; the flag was checked by `fileOptions`. */
const ids = (owner: string): [number, number] => owner.split(":").map(Number) as [number, number];

/**
 * Creates `dir` and any missing parents (0700) and gives every directory it
 * created to `owner`, so the application reading the token as that user can
 * reach it; directories that already existed are left as they are.
 */
const makeDirectories = async (dir: string, owner: string | undefined): Promise<void> => {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created === undefined || owner === undefined) return;
  const [uid, gid] = ids(owner);
  // mkdir reports the first directory it created; every one below it on the way to `dir` is new too.
  let current = created;
  await chown(current, uid, gid);
  for (const part of relative(created, dir).split(sep).filter(Boolean)) {
    current = join(current, part);
    await chown(current, uid, gid);
  }
};

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
  await makeDirectories(resolve(dirname(path)), owner);
  try {
    // No trailing newline: aws-sdk v2 and v3 send the file's bytes as the header, and Node refuses a newline in one.
    await writeFile(path, randomBytes(32).toString("base64url"), { mode, flag: "wx" });
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw error;
  }
  // The umask may have taken bits the mode asked for.
  await chmod(path, mode);
  if (owner) await chown(path, ...ids(owner));
  return true;
};
