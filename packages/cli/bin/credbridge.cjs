#!/usr/bin/env node
// A committed launcher, so package managers can link the bin before the build has run.
// It runs the bundle (scripts/bundle.mjs, part of `pnpm run build`): fewer modules
// for Node's loader to resolve and keep, less memory and a faster start. Both are
// CommonJS (.cjs, in a "type": "module" package): Node's ESM loader costs a
// short-lived `credbridge process` measurably more start-up time (see scripts/bundle.mjs).
require("../bundle/credbridge.cjs");
