/**
 * A safety net for the bin: Node ends a process whose event loop is empty even
 * while a promise is pending. With a top-level await Node said so (exit code 13,
 * "unsettled top-level await"); the CommonJS bin has none, so a command still
 * running when nothing held the loop would exit 0 — success — and a sidecar that
 * exits 0 is not restarted under restartPolicy OnFailure. This makes it a failure.
 *
 * Exit code 1, not 13: 1 is what credbridge documents for "failed" (0 done, 1
 * failed, 2 usage), and what its users' alerts and restart policies expect; 13
 * would name a Node mechanism (top-level await) that is no longer involved.
 */
export const failIfUnfinished = (
  work: Promise<unknown>,
  command: string | undefined,
  stderr: (text: string) => void = (text) => process.stderr.write(text),
): void => {
  let settled = false;
  const done = () => {
    settled = true;
  };
  work.then(done, done);
  process.on("exit", (code) => {
    // A non-zero code is already a failure, or an explicit exit (e.g. 130 on a second signal).
    if (settled || code !== 0) return;
    process.exitCode = 1;
    stderr(
      `credbridge${command ? ` ${command}` : ""}: exited before the command finished (nothing kept it running)\n`,
    );
  });
};
