import { mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CacheEntry, ProcessCredentials } from "./cache.js";

/** Writes the entry 0600 in a 0700 directory, by rename, so a concurrent reader never sees half of it. */
export const writeCached = async (
  file: string,
  dir: string,
  identity: string,
  credentials: ProcessCredentials,
): Promise<void> => {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await writeFile(temp, JSON.stringify({ identity, credentials } satisfies CacheEntry), {
      mode: 0o600,
      flag: "wx",
    });
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
};
