#!/bin/sh
# `npm run demo`: set-up, build, then the demo (demo/README.md), on a supported Node.
set -eu
cd "$(dirname "$0")/.."
. ./scripts/node-env.sh
sh scripts/setup.sh
pnpm run build
exec node demo/dist/main.js
