#!/bin/sh
# `npm run image`: set-up and build on a supported Node, then the image
# (scripts/image.mjs): dist/image/credbridge.oci.tar, and the image in the
# builder's own storage as ghcr.io/credbridge/credbridge:<version>.
# Extra arguments go to scripts/image.mjs (--builder buildah|podman|docker).
set -eu
cd "$(dirname "$0")/.."
. ./scripts/node-env.sh
sh scripts/setup.sh
pnpm run build
exec node scripts/image.mjs "$@"
