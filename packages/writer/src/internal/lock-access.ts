import type { FileOwner, WriterFs } from "../file-options.js";
import type { DirHandle } from "./dir-handle.js";

/** Sets a new lock-side directory's owner, group and mode, through its descriptor. */
export type LockAccess = (fd: number) => void;

const STICKY = 0o1000;
const SETGID = 0o2000;

/**
 * Who may break a lock: whoever may write the file, i.e. whoever may write the
 * directory it sits in. So the lock directory, the holder directory in it and
 * the queue get that directory's owner, group, permission and set-group-ID bits: a killed
 * root writer's lock in an application user's `~/.aws`, or in an emptyDir
 * every container writes, can be removed by the application's own writer.
 * (Made 0700 by their creator, they blocked every other user for good.)
 *
 * In a sticky directory (1777, like /tmp) only an entry's owner may remove
 * it, so there they go to the file's owner when one is given. Giving a
 * directory away takes root; any other writer keeps it, with the directory's
 * group when it belongs to it, and the same mode.
 */
export const lockAccessOf = (fs: WriterFs, dir: DirHandle, fileOwner: FileOwner | undefined): LockAccess => {
  const st = dir.stat();
  const uid = (st.mode & STICKY) !== 0 && fileOwner ? fileOwner.uid : st.uid;
  // The set-group-ID bit too: in a directory that has it (a pod's emptyDir under
  // fsGroup) every file belongs to the directory's group, and the temp file made
  // in the holder directory must as well, or the renamed file is the writer's
  // group and the application, reading through fsGroup, cannot read it.
  const mode = (st.mode & (SETGID | 0o777)) | 0o700;
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
