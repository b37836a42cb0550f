import type { Stats } from "node:fs";
import { modeString } from "@credbridge/core/files";
import { CredentialsFileError } from "../errors.js";
import type { FileOwner } from "../file-options.js";

/**
 * Whether `owner` could read the file there already. Otherwise rewriting it
 * for them would hand them its other profiles: root's own file, say, reached
 * through a hard link the application user made.
 */
const mayRead = (st: Stats, owner: FileOwner): boolean =>
  st.uid === owner.uid || (st.mode & 0o004) !== 0 || ((st.mode & 0o040) !== 0 && st.gid === owner.gid);

/**
 * The writer's one rule on whose file it replaces, and who gets the new one.
 *
 * The writer cannot tell a file it made in an earlier run from one someone
 * put there, so it goes by the owner: a file belonging to the writer's own
 * user, or to the user it writes for (`requested`, `--file-owner`), is its
 * to replace. Any other was put there by a third user (in a shared emptyDir,
 * by moving their own file over it): rewriting it would hand that user every
 * later set of credentials (the new file keeps the old one's owner) or hand
 * its planted profiles to `requested`. Refused, naming the path, the owner and
 * the fix. So is a file of the writer's own that `requested` may not read.
 *
 * Returns who the new file belongs to: `requested`; else the writer's own
 * file keeps its group (an fsGroup the application reads it through); a new
 * file is simply the writer's (undefined).
 */
export const ownerOfReplacement = (
  path: string,
  current: Stats | undefined,
  requested: FileOwner | undefined,
): FileOwner | undefined => {
  if (current === undefined) return requested;
  const euid = process.geteuid?.();
  const mine = euid === undefined || current.uid === euid;
  const theirs = requested !== undefined && current.uid === requested.uid;
  const where = `the file there belongs to uid ${current.uid} (mode ${modeString(current)})`;
  if (!mine && !theirs) {
    const writtenFor = requested ? ` nor to uid ${requested.uid}, whom it writes for` : "";
    throw new CredentialsFileError(
      `credbridge: refusing to write ${path}: ${where}, neither to this writer's user (uid ${euid})${writtenFor}; another user could have put it there, and rewriting it would hand them the credentials. ` +
        `Remove it (the writer then creates it afresh), or, if it is meant to belong to uid ${current.uid}, run the writer as that user or give that user as the file's owner (owner option, --file-owner ${current.uid}:${current.gid}).`,
      { code: "ERR_FILE_OWNER", path },
    );
  }
  if (requested !== undefined && !theirs && !mayRead(current, requested)) {
    const who = `${requested.uid}:${requested.gid}`;
    throw new CredentialsFileError(
      `credbridge: refusing to write ${path} for ${who}: ${where}, ` +
        `which ${who} may not read, and rewriting it would hand them its other content. Remove it, or give it to ${who} if what it holds is theirs.`,
      { code: "ERR_FILE_OWNER", path },
    );
  }
  return requested ?? { uid: current.uid, gid: current.gid };
};
