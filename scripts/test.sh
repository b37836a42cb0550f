#!/bin/sh
# The whole test suite, as CI runs it: set-up (Debian packages included, see
# scripts/setup-debian.sh), build, lint and type checks once on a supported Node
# (scripts/node-env.sh), then every test on each Node line credbridge supports:
# 22, 24 and 26, each the release scripts/node.json pins, fetched from npm's
# platform packages and verified (scripts/node.mjs). The sidecar image is built
# (once, cached by its inputs) by the first run of test/image.
# CREDBRIDGE_TEST_NODES narrows the list for a quick local loop, e.g. "24" or
# "current" (whatever `node` is first on PATH).
set -eu
cd "$(dirname "$0")/.."
. ./scripts/node-env.sh
sh scripts/setup.sh --test
pnpm run build
pnpm run lint
nodes=${CREDBRIDGE_TEST_NODES:-$(node -p 'require("./scripts/node.json").tested.join(" ")')}
# Kept in the repository's cache, not in ~/.npm: tests that run a child as
# another user (nobody) must be able to execute these binaries.
export npm_config_cache="$PWD/.cache/npm"
for v in $nodes; do
  if [ "$v" = current ]; then bin=$(command -v node); else bin=$(node scripts/node.mjs "$v"); fi
  echo "test: Node $("$bin" --version) ($bin)"
  # First on PATH too, so what the tests start as `node` (pnpm, npm) runs on the same line.
  PATH="$(dirname "$bin"):$PATH" "$bin" node_modules/vitest/vitest.mjs run
done
