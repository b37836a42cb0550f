#!/usr/bin/env node
// A committed launcher, so package managers can link the bin before the build has run.
// It runs the bundle (scripts/bundle.mjs, part of `pnpm run build`): fewer modules
// for Node's loader to resolve and keep, less memory and a faster start.
import "../bundle/credbridge.js";
