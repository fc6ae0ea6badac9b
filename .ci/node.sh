#!/usr/bin/env bash
# Print a directory holding a suitable `node`, to put first on PATH (the only
# stdout line; progress goes to stderr). The one place that installs Node 24.
#
#   node.sh       a Node that satisfies package.json's "engines": the host's when
#                 it does, else Node 24 from the cache, fetched on Debian when absent
#   node.sh --24  Node 24 from the cache, fetched when absent (for .ci/base-image.sh)
#
# Node 24 is the npm package node@24, installed with npm into
# ~/.cache/mtls-demo/node24 (no root needed) and kept between runs.
set -Eeuo pipefail
exec 3>&1 1>&2
cd "$(dirname "$0")/.."

NODE24_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/mtls-demo/node24"
NODE24_BIN="$NODE24_DIR/node_modules/.bin"
LOG="${TMPDIR:-/tmp}/mtls-demo-node.log"

STEP_PREFIX=node
STEP_LOG="$LOG"
# shellcheck source=steps.sh
. .ci/steps.sh

use() { say "using $1/node ($("$1/node" --version))"; echo "$1" >&3; exit 0; }
cached_node24() { [ -x "$NODE24_BIN/node" ] && "$NODE24_BIN/node" --version 2>/dev/null | grep -q '^v24\.'; }

install_node24() {
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch Node 24 (the npm package node@24); install npm, or Node 24 itself (https://nodejs.org/en/download)"
  start "fetching Node 24 (npm package node@24) into $NODE24_DIR"
  mkdir -p "$NODE24_DIR"
  # From inside the cache folder, so that no project's .npmrc applies.
  (cd "$NODE24_DIR" && quiet npm install --prefix "$NODE24_DIR" --no-audit --no-fund node@24)
  cached_node24 || die "npm install node@24 gave no Node 24 at $NODE24_BIN/node (log: $LOG)"
  finish "done, $("$NODE24_BIN/node" --version)"
}

if [ "${1:-}" = --24 ]; then
  cached_node24 || install_node24
  use "$NODE24_BIN"
fi

if command -v node >/dev/null 2>&1 && node .ci/node-version.cjs 2>/dev/null; then
  use "$(dirname "$(command -v node)")"
fi
wanted="$(sed -n 's/.*"node": *"\(>=[0-9.]*\)".*/\1/p' package.json)"
host="$(command -v node >/dev/null 2>&1 && echo "$(command -v node) is $(node --version)" || echo "there is no node on PATH")"
why="package.json needs Node $wanted and $host"
# Off Debian, one line saying how to get it; on Debian, the cached Node 24.
[ -f /etc/debian_version ] || cached_node24 \
  || die "$why: install Node 24 (https://nodejs.org/en/download) and put it first on PATH"
say "$why"
cached_node24 || install_node24
use "$NODE24_BIN"
