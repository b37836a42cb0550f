import type { Stats } from "node:fs";
import { join } from "node:path";
import { CredentialsFileError } from "../errors.js";
import type { FileOwner, WriterFs } from "../file-options.js";
import { type DirHandle, openChild, openRoot } from "./dir-handle.js";
import { systemCode, writeError } from "./fs-error.js";

/** As the kernel's own limit on symbolic links in one lookup. */
const MAX_LINKS = 40;

export interface TargetDirectory {
  /** The directory the file goes in, open. */
  dir: DirHandle;
  /** Removes the directories this call created, innermost first, where they are still empty. */
  removeCreated(): void;
  /** Closes every directory opened on the way. */
  close(): void;
}

export interface OpenDirectoryOptions {
  /** The file the directory is for, named in messages. */
  target: string;
  /** Create missing directories with this mode (the umask applies), given to `owner` when set. */
  create?: { mode: number; owner: FileOwner | undefined } | undefined;
}

const mode = (st: Stats) => (st.mode & 0o777).toString(8).padStart(4, "0");

/**
 * Why a symbolic link in `parent` must not be followed, or undefined when only
 * root and this process's user could have made it or could change it: it
 * belongs to one of them, in a directory that belongs to one of them and that
 * nobody else may write (or may write only under the sticky bit, which keeps
 * others from replacing entries they do not own).
 */
const untrustedLink = (link: Stats, parent: DirHandle): string | undefined => {
  const euid = process.geteuid?.();
  const trusted = (uid: number) => uid === 0 || uid === euid;
  const dir = parent.stat();
  if (!trusted(link.uid)) return `the link belongs to uid ${link.uid}`;
  if (!trusted(dir.uid)) return `${parent.path} belongs to uid ${dir.uid}`;
  if ((dir.mode & 0o022) !== 0 && (dir.mode & 0o1000) === 0) {
    return `${parent.path} is writable by group or others (mode ${mode(dir)})`;
  }
  return undefined;
};

/**
 * Opens the directory `dirPath` one component at a time, each with O_NOFOLLOW
 * and relative to the one before, so that no component can be swapped for a
 * symbolic link between the check and the use. A symbolic link met on the way
 * is followed only where nobody but root and this process's user could have
 * planted or changed it (see {@link untrustedLink}); anywhere else it is
 * refused with ERR_SYMLINK. Without that, a root writer giving the file to an
 * application user would follow a link that user planted in their own home
 * (`~/.aws -> /root/.aws`) and merge root's own file into theirs.
 *
 * Missing directories are created when `create` is set, and given to its owner
 * through their descriptor; returns undefined when one is missing otherwise.
 */
export const openDirectory = (
  fs: WriterFs,
  dirPath: string,
  options: OpenDirectoryOptions,
): TargetDirectory | undefined => {
  const opened: DirHandle[] = [];
  const created: Array<{ parent: DirHandle; name: string }> = [];
  const closeAll = () => {
    for (const h of opened.reverse()) h.close();
  };
  const fail = (action: string, error: unknown) => writeError(options.target, action, error);
  try {
    const root = openRoot(fs);
    opened.push(root);
    let stack = [root];
    const pending = dirPath.split("/").filter((c) => c !== "" && c !== ".");
    let links = 0;
    while (pending.length > 0) {
      const name = pending.shift() as string;
      if (name === "..") {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const parent = stack.at(-1) as DirHandle;
      const where = join(parent.path, name);
      let child: DirHandle | undefined;
      try {
        child = openChild(fs, parent, name);
      } catch (error) {
        const code = systemCode(error);
        if (code === "ENOENT") {
          if (!options.create) {
            closeAll();
            return undefined;
          }
          child = makeChild(fs, parent, name, options.create, created, fail);
        } else if (code === "ELOOP" || code === "ENOTDIR") {
          let st: Stats;
          try {
            st = fs.lstatSync(parent.at(name));
          } catch (again) {
            throw fail(`opening the directory ${where}`, again);
          }
          if (!st.isSymbolicLink()) throw fail(`opening the directory ${where}`, error);
          if (++links > MAX_LINKS) throw fail(`resolving ${dirPath}`, { code: "ELOOP" });
          const to = fs.readlinkSync(parent.at(name), "utf8");
          const why = untrustedLink(st, parent);
          if (why !== undefined) {
            throw new CredentialsFileError(
              `credbridge: refusing to write ${options.target}: ${where} is a symbolic link (to ${to}) that another user could have planted or could change: ${why}. ` +
                `The writer follows links in the path only where nobody but root and its own user can change them. Point it at the real directory.`,
              { code: "ERR_SYMLINK", path: options.target },
            );
          }
          if (to.startsWith("/")) stack = [root];
          pending.unshift(...to.split("/").filter((c) => c !== "" && c !== "."));
          continue;
        } else {
          throw fail(`opening the directory ${where}`, error);
        }
      }
      opened.push(child);
      stack.push(child);
    }
    const dir = stack.at(-1) as DirHandle;
    return {
      dir,
      removeCreated: () => {
        for (const { parent, name } of [...created].reverse()) {
          try {
            fs.rmdirSync(parent.at(name));
          } catch {
            // Not empty (another writer's file arrived) or already gone: leave it.
          }
        }
      },
      close: closeAll,
    };
  } catch (error) {
    for (const { parent, name } of created.reverse()) {
      try {
        fs.rmdirSync(parent.at(name));
      } catch {
        // As above.
      }
    }
    closeAll();
    throw error;
  }
};

/** Creates `name` in `parent` and opens it, giving it to `owner` through its descriptor. */
const makeChild = (
  fs: WriterFs,
  parent: DirHandle,
  name: string,
  create: NonNullable<OpenDirectoryOptions["create"]>,
  created: Array<{ parent: DirHandle; name: string }>,
  fail: (action: string, error: unknown) => CredentialsFileError,
): DirHandle => {
  const where = join(parent.path, name);
  try {
    fs.mkdirSync(parent.at(name), { mode: create.mode });
    created.push({ parent, name });
  } catch (error) {
    // Another writer made it first: open theirs.
    if (systemCode(error) !== "EEXIST") throw fail(`creating the directory ${where}`, error);
  }
  let child: DirHandle;
  try {
    child = openChild(fs, parent, name);
  } catch (error) {
    throw fail(`opening the directory ${where}`, error);
  }
  const mine = created.at(-1);
  if (create.owner && mine?.parent === parent && mine.name === name) {
    try {
      fs.fchownSync(child.fd, create.owner.uid, create.owner.gid);
    } catch (error) {
      child.close();
      throw fail(`giving the new directory ${where} to ${create.owner.uid}:${create.owner.gid}`, error);
    }
  }
  return child;
};
