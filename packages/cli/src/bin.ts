#!/usr/bin/env node
import { failIfUnfinished } from "./exit-guard.js";
import { NO_HOME, sdkNeedsHome } from "./home.js";
import { main } from "./main.js";
import { createStdoutWriter } from "./stdout.js";

const stop = new AbortController();
const reloaders: (() => void)[] = [];
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stop.signal.aborted) process.exit(130); // a second signal: stop now
    stop.abort(signal);
  });
}
process.on("SIGHUP", () => {
  for (const reload of reloaders) reload();
});

// A uid with no passwd entry and no HOME (a pod's runAsUser): see sdkNeedsHome. The
// process's own environment is the only way into the SDK's config loading.
if (sdkNeedsHome(process.env)) process.env.USERPROFILE = NO_HOME;

// No top-level await: the shipped bundle is CommonJS (scripts/bundle.mjs), which cannot have one.
const argv = process.argv.slice(2);
const run = main({
  argv,
  env: process.env,
  stdout: createStdoutWriter(),
  stderr: (text) => process.stderr.write(text),
  stopSignal: stop.signal,
  onReload: (listener) => reloaders.push(listener),
  captureWarnings: true,
});
void run.then((code) => {
  process.exitCode = code;
  // Long-running commands return after closing their servers; nothing else should keep the process.
  if (stop.signal.aborted) setTimeout(() => process.exit(code), 100).unref();
});
// Without a top-level await, Node would exit 0 if the loop emptied while main() is still pending.
failIfUnfinished(run, argv[0]?.startsWith("-") ? undefined : argv[0]);
