#!/bin/sh
# One set-up path for every entry point (demo, tests, image, CI): a fresh machine
# with only Node and npm gets a supported Node if its own is too old
# (scripts/node-env.sh), the pinned pnpm through npm (corepack cannot verify
# pnpm's signatures here), then the locked dependencies. With --test, also the
# Debian packages the real-client tests need (scripts/setup-debian.sh); the
# demo does without them.
set -eu
cd "$(dirname "$0")/.."
. ./scripts/node-env.sh
if [ "${1:-}" = "--test" ]; then sh scripts/setup-debian.sh; fi
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
have=$(pnpm --version 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  echo "setup: installing pnpm@$want with npm" >&2
  npm install --global --no-fund --no-audit "pnpm@$want" >&2
fi
pnpm install --frozen-lockfile --reporter=silent >&2
