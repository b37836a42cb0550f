#!/usr/bin/env node
// A committed launcher, so package managers can link the bin before the build has run.
import "../dist/bin.js";
