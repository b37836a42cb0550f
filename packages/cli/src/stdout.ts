import { writeSync } from "./builtins.js";

/**
 * Writes to the process's standard output with a plain write(2), as
 * process.stdout does on Linux for files and pipes, without creating that
 * stream: for a pipe (how the AWS CLI reads credential_process) it is a
 * net.Socket, and loading net costs a `process` cache hit ~3 ms. Should the
 * descriptor be non-blocking and full (EAGAIN), the rest, and every later
 * write, goes through process.stdout, which queues it; order is kept.
 */
export const createStdoutWriter = (fd = 1): ((text: string) => void) => {
  let viaStream = false;
  return (text) => {
    if (viaStream) {
      process.stdout.write(text);
      return;
    }
    let rest = Buffer.from(text, "utf8");
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(fd, rest));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
        viaStream = true;
        process.stdout.write(rest);
        return;
      }
    }
  };
};
