# Sourced (`. scripts/node-env.sh`, from the repository root) by every entry
# script: set-up, build, lint, tests, demo, image, bench run on a Node line
# credbridge tests (scripts/node.json). When the machine's `node` is missing or on
# another line (Node 20 here, past end of life), the pinned work Node is fetched
# from npm, verified (scripts/node.mjs) and put first on PATH for this run;
# nothing is installed outside the repository's .cache/. A Node from .cache/
# (fetched here, or first on PATH from an earlier run) is used only once its
# bin/node has been checked against its pin: a changed file is refused.
credbridge_node=$(command -v node 2>/dev/null || true)
case $credbridge_node in
"$PWD"/.cache/node/*)
  node scripts/node.mjs --verify "$credbridge_node" || exit 1
  ;;
esac
if ! node -e 'process.exit(require(process.argv[1]).tested.includes(process.versions.node.split(".")[0]) ? 0 : 1)' \
  "$PWD/scripts/node.json" 2>/dev/null; then
  credbridge_work_node=$(node scripts/node.mjs work) || {
    echo "setup: credbridge needs Node $(node -p 'require("./scripts/node.json").tested.join(", ")' 2>/dev/null || echo '22, 24 or 26') and could not fetch a verified one" >&2
    exit 1
  }
  echo "setup: $(node --version 2>/dev/null || echo 'no node') is not a Node line credbridge supports; using $("$credbridge_work_node" --version) from npm ($credbridge_work_node)" >&2
  PATH="$(dirname "$credbridge_work_node"):$PATH"
  export PATH
fi
