#!/bin/sh
# `npm run packages`: set-up and build on a supported Node, then the published
# packages as npm tarballs in dist/packages/ (scripts/pack.mjs). Until a
# release is on npm, `npm install -g dist/packages/*.tgz` installs the CLI
# (Node 22.12 or later, 24 or 26).
set -eu
cd "$(dirname "$0")/.."
. ./scripts/node-env.sh
sh scripts/setup.sh
pnpm run build
exec node scripts/pack.mjs "$@"
