import type { FileHandle } from "node:fs/promises";
import * as nodeFs from "node:fs/promises";
import type { WriterFs } from "../file-options.js";

/** Points of an update where a test can inject a failure or a pause. */
export type FsPoint = "mkdir" | "open-temp" | "write" | "sync" | "rename";

/** A system error as node raises it. */
export const fsError = (code: string, path = ""): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: injected failure${path ? `, '${path}'` : ""}`), { code });

/**
 * The real file system, with `hook` called at each point before the real call:
 * it may throw (the failure) or wait (a writer caught mid-update). A failing
 * "write" first writes half the data, as a full disk would.
 */
export const hookedFs = (
  hook: (point: FsPoint, path: string) => void | Promise<void>,
  base: WriterFs = nodeFs,
): WriterFs => {
  const wrapTemp = (handle: FileHandle, path: string): FileHandle =>
    new Proxy(handle, {
      get(target, prop) {
        if (prop === "writeFile") {
          return async (data: string, encoding: BufferEncoding) => {
            try {
              await hook("write", path);
            } catch (error) {
              await target.writeFile(data.slice(0, Math.floor(data.length / 2)), encoding);
              throw error;
            }
            return target.writeFile(data, encoding);
          };
        }
        if (prop === "sync") {
          return async () => {
            await hook("sync", path);
            return target.sync();
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return {
    ...base,
    mkdir: (async (path: string, options: Parameters<typeof nodeFs.mkdir>[1]) => {
      await hook("mkdir", path);
      return base.mkdir(path, options);
    }) as WriterFs["mkdir"],
    open: (async (path: string, flags?: string | number, mode?: number) => {
      if (flags === "wx") {
        await hook("open-temp", path);
        return wrapTemp(await base.open(path, flags, mode), path);
      }
      return base.open(path, flags, mode);
    }) as WriterFs["open"],
    rename: async (from, to) => {
      await hook("rename", String(to));
      return base.rename(from, to);
    },
  };
};
