import * as nodeFs from "node:fs";
import type { WriterFs } from "../file-options.js";

/** Points of an update where a test can inject a failure. */
export type FsPoint = "mkdir" | "open-temp" | "write" | "sync" | "rename";

/** A system error as node raises it. */
export const fsError = (code: string, path = ""): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: injected failure${path ? `, '${path}'` : ""}`), { code });

/**
 * The real file system, with `hook` called at each point before the real call;
 * it throws to inject a failure. A failing "write" first writes half the data,
 * as a full disk would; "sync" is the temp file's fsync.
 */
export const hookedFs = (hook: (point: FsPoint, path: string) => void, base: WriterFs = nodeFs): WriterFs => {
  const temps = new Map<number, string>();
  return {
    ...base,
    mkdirSync: ((path: string, options: nodeFs.MakeDirectoryOptions) => {
      hook("mkdir", path);
      return base.mkdirSync(path, options);
    }) as WriterFs["mkdirSync"],
    openSync: ((path: string, flags: nodeFs.OpenMode, mode?: nodeFs.Mode) => {
      if (flags === "wx") hook("open-temp", path);
      const fd = base.openSync(path, flags, mode);
      if (flags === "wx") temps.set(fd, path);
      return fd;
    }) as WriterFs["openSync"],
    closeSync: (fd) => {
      temps.delete(fd);
      base.closeSync(fd);
    },
    writeFileSync: ((fd: number, data: string, encoding: BufferEncoding) => {
      const temp = temps.get(fd);
      if (temp !== undefined) {
        try {
          hook("write", temp);
        } catch (error) {
          base.writeFileSync(fd, data.slice(0, Math.floor(data.length / 2)), encoding);
          throw error;
        }
      }
      base.writeFileSync(fd, data, encoding);
    }) as WriterFs["writeFileSync"],
    fsyncSync: (fd) => {
      const temp = temps.get(fd);
      if (temp !== undefined) hook("sync", temp);
      base.fsyncSync(fd);
    },
    renameSync: (from, to) => {
      hook("rename", String(to));
      base.renameSync(from, to);
    },
  };
};
