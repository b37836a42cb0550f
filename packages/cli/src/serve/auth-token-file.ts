import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { constants } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { CredbridgeError } from "@credbridge/core";
import { describeFileError, openDirectory } from "@credbridge/core/files";

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY } = constants;

/** `"10000:10000"` → ids; the flag was checked by `fileOptions`. */
export const ownerIds = (owner: string): { uid: number; gid: number } => {
  const [uid, gid] = owner.split(":").map(Number) as [number, number];
  return { uid, gid };
};

const refused = (path: string, why: string): CredbridgeError =>
  new CredbridgeError(
    `--container-auth-token-file: ${path} ${why}; refusing to create the token through it. Put the token in a directory that only this user (or root) can change, such as the shared volume's mount point itself`,
    { code: "ERR_CONFIG" },
  );

/**
 * Creates the container endpoint's token file with a random token when it does
 * not exist (mode and owner like the credentials file, 0600 by default), so the
 * sidecar and the application can share it through a volume: an app running as
 * another user reads it through the pod's fsGroup (0640) or as its owner. An
 * existing file is left as it is (the container server refuses it at start if
 * no request could match it, or if someone it does not trust could have
 * chosen it).
 *
 * The volume is often writable by that other user (a 0777 emptyDir), who could
 * swap a symbolic link in for any name at any moment: the directory is opened
 * and created by the writer's walk (core's `openDirectory`: a link others
 * could have planted is refused, directories made are handed over through
 * their descriptors), the file is created with O_EXCL and O_NOFOLLOW in the
 * directory actually opened, and its mode and owner are set on the descriptor
 * that created it, never by path.
 */
export const ensureAuthTokenFile = async (
  path: string,
  owner: string | undefined,
  mode = 0o600,
): Promise<boolean> => {
  const full = resolve(path);
  const located = openDirectory(fs, dirname(full), {
    create: { mode: 0o700, owner: owner === undefined ? undefined : ownerIds(owner) },
    errors: {
      failed: (action, error) =>
        new CredbridgeError(`--container-auth-token-file: ${action}: ${describeFileError(error)}`, {
          code: "ERR_CONFIG",
          cause: error,
        }),
      refused: (_kind, where, why) => refused(where, why),
    },
  });
  if (!located) throw new Error(`unreachable: ${dirname(full)} is created`);
  let fd: number;
  try {
    fd = fs.openSync(located.dir.at(basename(full)), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw error;
  } finally {
    located.close();
  }
  try {
    // No trailing newline: aws-sdk v2 and v3 send the file's bytes as the header, and Node refuses a newline in one.
    fs.writeFileSync(fd, randomBytes(32).toString("base64url"));
    // The umask may have taken bits the mode asked for.
    fs.fchmodSync(fd, mode);
    if (owner) {
      const { uid, gid } = ownerIds(owner);
      fs.fchownSync(fd, uid, gid);
    }
  } finally {
    fs.closeSync(fd);
  }
  return true;
};
