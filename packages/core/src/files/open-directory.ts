import type { Stats } from "node:fs";
import { join } from "node:path";
import { type DirectoryFs, type DirHandle, openChild, openRoot } from "./dir-handle.js";
import { untrustedLink } from "./trust.js";

/** As the kernel's own limit on symbolic links in one lookup. */
const MAX_LINKS = 40;
/**
 * How often a component may change under the walk (a link swapped for a
 * directory between lstat and readlink) before the walk gives up, naming it.
 */
const MAX_RACES = 8;

export interface OpenedDirectory {
  /** The directory, open. */
  dir: DirHandle;
  /** Removes the directories this call created, innermost first, where they are still empty. */
  removeCreated(): void;
  /** Closes every directory opened on the way. */
  close(): void;
}

/** How the caller words what went wrong: its messages name its own file and fix. */
export interface OpenDirectoryErrors {
  /** A system error while `action` (e.g. "opening the directory /a/b"). */
  failed(action: string, error: unknown): Error;
  /**
   * `where` may not be used: a symbolic link another user could have planted
   * (`kind` "link"), or a directory replaced while this walk created it ("raced").
   */
  refused(kind: "link" | "raced", where: string, why: string): Error;
}

export interface OpenDirectoryOptions {
  /** Create missing directories with this mode (the umask applies), given to `owner` when set. */
  create?: { mode: number; owner?: { uid: number; gid: number } | undefined } | undefined;
  errors: OpenDirectoryErrors;
}

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

/**
 * Opens the directory `dirPath` one component at a time, each with O_NOFOLLOW
 * and relative to the one before, so that no component can be swapped for a
 * symbolic link between the check and the use. A symbolic link met on the way
 * is followed only where nobody but root and this process's user could have
 * planted or changed it (see {@link untrustedLink}); anywhere else it is
 * refused. Without that, a root writer giving a file to an application user
 * would follow a link that user planted in their own home (`~/.aws ->
 * /root/.aws`) and merge root's own file into theirs.
 *
 * Missing directories are created when `create` is set, and given to its owner
 * through their descriptor; returns undefined when one is missing otherwise.
 */
export const openDirectory = (
  fs: DirectoryFs,
  dirPath: string,
  options: OpenDirectoryOptions,
): OpenedDirectory | undefined => {
  const { errors } = options;
  const opened: DirHandle[] = [];
  const created: Array<{ parent: DirHandle; name: string }> = [];
  const closeAll = () => {
    for (const h of opened.reverse()) h.close();
  };
  try {
    const root = openRoot(fs);
    opened.push(root);
    let stack = [root];
    const pending = dirPath.split("/").filter((c) => c !== "" && c !== ".");
    let links = 0;
    let races = 0;
    /** The component changed between two looks (another user is swapping it): look again, a few times. */
    const again = (name: string, where: string, error: unknown): void => {
      if (++races > MAX_RACES) {
        throw errors.refused(
          "raced",
          where,
          `kept changing while it was being opened (${codeOf(error) ?? "changed"}): another user is replacing it`,
        );
      }
      pending.unshift(name);
    };
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
        const code = codeOf(error);
        if (code === "ENOENT") {
          if (!options.create) {
            closeAll();
            return undefined;
          }
          child = makeChild(fs, parent, name, options.create, created, errors);
          if (child === undefined) {
            // Made by someone else meanwhile, and no longer a directory when opened: look again.
            again(name, where, error);
            continue;
          }
        } else if (code === "ELOOP" || code === "ENOTDIR") {
          let st: Stats;
          try {
            st = fs.lstatSync(parent.at(name));
          } catch (changed) {
            if (codeOf(changed) !== "ENOENT") throw errors.failed(`opening the directory ${where}`, changed);
            again(name, where, changed);
            continue;
          }
          if (!st.isSymbolicLink()) {
            // ENOTDIR for a file; ELOOP for a link since replaced by a directory: look again.
            if (st.isDirectory()) again(name, where, error);
            else throw errors.failed(`opening the directory ${where}`, error);
            continue;
          }
          if (++links > MAX_LINKS) throw errors.failed(`resolving ${dirPath}`, { code: "ELOOP" });
          let to: string;
          try {
            to = fs.readlinkSync(parent.at(name), "utf8");
          } catch (changed) {
            // EINVAL: no longer a link; ENOENT: gone. Both mean someone changed it since the lstat.
            const c = codeOf(changed);
            if (c !== "EINVAL" && c !== "ENOENT") {
              throw errors.failed(`reading the symbolic link ${where}`, changed);
            }
            again(name, where, changed);
            continue;
          }
          const why = untrustedLink(st, parent);
          if (why !== undefined) {
            throw errors.refused(
              "link",
              where,
              `is a symbolic link (to ${to}) that another user could have planted or could change: ${why}`,
            );
          }
          if (to.startsWith("/")) stack = [root];
          pending.unshift(...to.split("/").filter((c) => c !== "" && c !== "."));
          continue;
        } else {
          throw errors.failed(`opening the directory ${where}`, error);
        }
      }
      opened.push(child);
      stack.push(child);
    }
    const dir = stack.at(-1) as DirHandle;
    return {
      dir,
      removeCreated: () => removeAll(fs, created),
      close: closeAll,
    };
  } catch (error) {
    removeAll(fs, created);
    closeAll();
    throw error;
  }
};

/** Removes directories this walk created, innermost first, where they are still empty. */
const removeAll = (fs: DirectoryFs, created: Array<{ parent: DirHandle; name: string }>): void => {
  for (const { parent, name } of [...created].reverse()) {
    try {
      fs.rmdirSync(parent.at(name));
    } catch {
      // Not empty (another writer's file arrived) or already gone: leave it.
    }
  }
};

/**
 * Creates `name` in `parent` and opens it, giving it to `owner` through its
 * descriptor; undefined when another process made it first and it is no
 * longer a directory (a link, say) when opened: the walk looks at it again. What is opened must be the directory just made (this process's
 * own): in a directory others may write, another user could remove it and put
 * one of theirs, or a link, in its place between the two calls.
 */
const makeChild = (
  fs: DirectoryFs,
  parent: DirHandle,
  name: string,
  create: NonNullable<OpenDirectoryOptions["create"]>,
  created: Array<{ parent: DirHandle; name: string }>,
  errors: OpenDirectoryErrors,
): DirHandle | undefined => {
  const where = join(parent.path, name);
  let made = false;
  try {
    fs.mkdirSync(parent.at(name), { mode: create.mode });
    made = true;
    created.push({ parent, name });
  } catch (error) {
    // Another writer made it first: open theirs.
    if (codeOf(error) !== "EEXIST") throw errors.failed(`creating the directory ${where}`, error);
  }
  let child: DirHandle;
  try {
    child = openChild(fs, parent, name);
  } catch (error) {
    const code = codeOf(error);
    if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR") {
      if (made) {
        throw errors.refused(
          "raced",
          where,
          "was replaced while it was being created: another user is racing for it",
        );
      }
      return undefined;
    }
    throw errors.failed(`opening the directory ${where}`, error);
  }
  if (!made) return child;
  const mine = child.stat();
  if (mine.uid !== process.geteuid?.() && process.geteuid !== undefined) {
    child.close();
    throw errors.refused(
      "raced",
      where,
      `was replaced while it was being created by a directory of uid ${mine.uid}: another user is racing for it`,
    );
  }
  if (create.owner) {
    try {
      fs.fchownSync(child.fd, create.owner.uid, create.owner.gid);
    } catch (error) {
      child.close();
      throw errors.failed(
        `giving the new directory ${where} to ${create.owner.uid}:${create.owner.gid}`,
        error,
      );
    }
  }
  return child;
};
