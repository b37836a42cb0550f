import type { DirHandle } from "@credbridge/core/files";
import type { FileOwner, WriterFs } from "../file-options.js";

/** Sets a new lock-side directory's owner, group and mode, through its descriptor. */
export type LockAccess = (fd: number) => void;

const STICKY = 0o1000;

const SETGID = 0o2000;

/**
 * The mode the lock, holder and queue directories get (see {@link lockAccessOf}).
 * The setgid bit is kept: the temp file is made in the holder, and must get the
 * group a file made in the directory itself would (a pod's fsGroup, through
 * which the application reads it), not the writer's own.
 */
const lockModeOf = (dir: { mode: number }): number =>
  ((dir.mode & STICKY) !== 0 ? 0o700 : (dir.mode & 0o777) | 0o700) | (dir.mode & SETGID);

/**
 * Who may break a lock: whoever may write the file, i.e. whoever the rules of
 * the directory it sits in let replace it. So the lock directory, the holder
 * directory in it and the queue get that directory's owner, group and
 * permission bits: a killed root writer's lock in an application user's
 * `~/.aws`, or in an emptyDir every container writes, can be removed by the
 * application's own writer. (Made 0700 by their creator, they blocked every
 * other user for good.) Nobody the directory keeps from replacing the file
 * gets into them either:
 *
 * - In a directory only its owner (or group) may write, the same holds for them.
 * - In a sticky directory (1777, like /tmp or /dev/shm) only an entry's owner
 *   (or the directory's, or root) may replace or remove it, so only they may
 *   replace the file: the lock-side directories are 0700 and go to the file's
 *   owner when one is given (else the directory's). Other users may neither
 *   put a file of theirs in the writer's temporary file's place nor remove a
 *   holder, and the file's owner (and root) may still break a dead writer's
 *   lock. Made 0777 without the bit (as before), they let any user rename
 *   their own file over the writer's between its fsync and its rename.
 * - In a directory anyone may write without the sticky bit (an emptyDir made
 *   0777), anyone may replace the file itself, so anyone may break the lock;
 *   what the rename installs is checked to be the writer's own (atomic-write.ts).
 *
 * Giving a directory away takes root; any other writer keeps it, with the
 * directory's group when it belongs to it, and the same mode.
 */
export const lockAccessOf = (fs: WriterFs, dir: DirHandle, fileOwner: FileOwner | undefined): LockAccess => {
  const st = dir.stat();
  const uid = (st.mode & STICKY) !== 0 && fileOwner ? fileOwner.uid : st.uid;
  const mode = lockModeOf(st);
  return (fd) => {
    const mine = fs.fstatSync(fd);
    if (mine.uid !== uid || mine.gid !== st.gid) {
      try {
        fs.fchownSync(fd, uid, st.gid);
      } catch {
        try {
          if (mine.gid !== st.gid) fs.fchownSync(fd, -1, st.gid);
        } catch {
          // Not a member of that group either: the mode below is all we can give.
        }
      }
    }
    fs.fchmodSync(fd, mode);
  };
};
