#!/bin/sh
# `pnpm bench [-- --record] [name…]`: build, then every benchmark (bench/run.mjs), on a supported Node.
set -eu
cd "$(dirname "$0")/.."
. ./scripts/node-env.sh
pnpm run build
exec node bench/run.mjs "$@"
