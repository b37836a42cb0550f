import type * as fs from "node:fs";
import { read } from "node:fs";
import type { FileHandle } from "node:fs/promises";

/**
 * A file that held more than the reader allows. Counted in bytes actually
 * read, never taken from `st_size`: a sparse file, a file growing while it is
 * read, or a procfs file (size 0, content without end) are all stopped at the
 * limit.
 */
export class FileTooLargeError extends Error {
  override name = "FileTooLargeError";
  readonly code = "ERR_FILE_TOO_LARGE";
  constructor(readonly maxBytes: number) {
    super(`larger than ${maxBytes} bytes`);
  }
}

/** Reads up to `length` bytes into `buffer` at `offset`; 0 at the end of the file. */
type ReadChunk = (buffer: Buffer, offset: number, length: number) => Promise<number>;

/** What a read starts with: most secret files are a few kilobytes. */
const FIRST_CHUNK = 16 * 1024;

/**
 * A buffer that grows by doubling up to just past the limit: reading more than
 * the limit is what tells a file of exactly `maxBytes` from a larger one.
 */
const growing = (maxBytes: number) => {
  // Whole multiples of 8 bytes: some procfs files (pagemap) refuse reads of any other length.
  const cap = Math.ceil((maxBytes + 1) / 8) * 8;
  let buffer = Buffer.allocUnsafe(Math.min(cap, FIRST_CHUNK));
  let filled = 0;
  return {
    /** Where the next read goes: buffer, offset, length. */
    next: (): [Buffer, number, number] => {
      if (filled === buffer.length) {
        const bigger = Buffer.allocUnsafe(Math.min(cap, buffer.length * 2));
        buffer.copy(bigger, 0, 0, filled);
        buffer = bigger;
      }
      return [buffer, filled, buffer.length - filled];
    },
    /** Counts `n` bytes read; false at the end of the file. */
    took: (n: number): boolean => {
      if (n === 0) return false;
      filled += n;
      if (filled > maxBytes) throw new FileTooLargeError(maxBytes);
      return true;
    },
    bytes: () => buffer.subarray(0, filled),
  };
};

const collect = async (readChunk: ReadChunk, maxBytes: number, signal?: AbortSignal): Promise<Buffer> => {
  const into = growing(maxBytes);
  for (;;) {
    signal?.throwIfAborted();
    if (!into.took(await readChunk(...into.next()))) return into.bytes();
  }
};

/** Reads at most `maxBytes` from an open file handle, off the event loop; more throws {@link FileTooLargeError}. */
export const readBounded = (handle: FileHandle, maxBytes: number, signal?: AbortSignal): Promise<Buffer> =>
  collect(async (b, o, l) => (await handle.read(b, o, l, null)).bytesRead, maxBytes, signal);

/** {@link readBounded} for a descriptor from `openSync`, read in the thread pool. */
export const readBoundedFd = (fd: number, maxBytes: number, signal?: AbortSignal): Promise<Buffer> =>
  collect(
    (b, o, l) =>
      new Promise((resolve, reject) =>
        read(fd, b, o, l, null, (error, n) => (error ? reject(error) : resolve(n))),
      ),
    maxBytes,
    signal,
  );

/**
 * {@link readBounded}, synchronously: for a reader that must not give up its
 * turn (the writer, under its lock), on a file it has checked is a regular one.
 */
export const readBoundedSync = (
  fileSystem: Pick<typeof fs, "readSync">,
  fd: number,
  maxBytes: number,
): Buffer => {
  const into = growing(maxBytes);
  for (;;) {
    const [buffer, offset, length] = into.next();
    if (!into.took(fileSystem.readSync(fd, buffer, offset, length, null))) return into.bytes();
  }
};
