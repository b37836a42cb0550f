#!/bin/sh
# The whole test suite, as CI runs it: set-up (Debian packages included, see
# scripts/setup-debian.sh), build, lint and type checks once,
# then every test on each supported Node major. Node 20 is the machine's (past
# end of life, still supported); 22 and 24 come from npm's `node` package.
# CREDBRIDGE_TEST_NODES narrows the list for a quick local loop, e.g. "current".
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh --test
pnpm run build
pnpm run lint
nodes=${CREDBRIDGE_TEST_NODES:-"current 22 24"}
# npx keeps those Node binaries in the repository's own cache, not in ~/.npm:
# tests that run a child as another user (nobody) must be able to execute them.
export npm_config_cache="$PWD/.cache/npm"
for v in $nodes; do
  if [ "$v" = current ]; then
    echo "test: Node $(node --version)"
    node node_modules/vitest/vitest.mjs run
  else
    echo "test: Node $v ($(npx -y -p "node@$v" node --version))"
    npx -y -p "node@$v" node node_modules/vitest/vitest.mjs run
  fi
done
