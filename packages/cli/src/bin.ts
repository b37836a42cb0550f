#!/usr/bin/env node
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

// No top-level await: the shipped bundle is CommonJS (scripts/bundle.mjs), which cannot have one.
void main({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: createStdoutWriter(),
  stderr: (text) => process.stderr.write(text),
  stopSignal: stop.signal,
  onReload: (listener) => reloaders.push(listener),
  captureWarnings: true,
}).then((code) => {
  process.exitCode = code;
  // Long-running commands return after closing their servers; nothing else should keep the process.
  if (stop.signal.aborted) setTimeout(() => process.exit(code), 100).unref();
});
