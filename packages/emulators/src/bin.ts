#!/usr/bin/env node
import { CLI_USAGE, startEmulatorsFromArgs } from "./cli.js";

// stdout carries exactly one JSON line for the process that started us; all
// diagnostics go to stderr.
try {
  const running = await startEmulatorsFromArgs(process.argv.slice(2));
  if (running === undefined) {
    process.stdout.write(CLI_USAGE);
  } else {
    process.stdout.write(`${running.readyLine}\n`);
    const shutdown = () => {
      running.close().then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`credbridge-emulators: close failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", shutdown);
    process.once("SIGINT", shutdown);
  }
} catch (error) {
  process.stderr.write(
    `credbridge-emulators: ${error instanceof Error ? error.message : String(error)}\n${CLI_USAGE}`,
  );
  process.exitCode = 2;
}
