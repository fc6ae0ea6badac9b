#!/usr/bin/env bash
# Print a directory holding a Node >= 24 `node` binary, to put first on PATH.
# The host's own node is used when it is new enough; otherwise Node 24 comes
# from the npm registry (the npm package node@24), cached between runs.
set -euo pipefail
exec 3>&1 1>&2

NODE24_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/mtls-demo/node24"

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null 2>&1 && [ "$(major node)" -ge 24 ]; then
  echo "node: using $(command -v node) ($(node --version))"
  dirname "$(command -v node)" >&3
  exit 0
fi
if [ ! -x "$NODE24_DIR/node_modules/.bin/node" ] || [ "$(major "$NODE24_DIR/node_modules/.bin/node")" -lt 24 ]; then
  echo "node: host node is $(node --version 2>/dev/null || echo missing); installing node@24 into $NODE24_DIR"
  mkdir -p "$NODE24_DIR"
  npm install --prefix "$NODE24_DIR" --no-audit --no-fund --loglevel=error node@24 >/dev/null
fi
echo "node: using $NODE24_DIR/node_modules/.bin/node ($("$NODE24_DIR/node_modules/.bin/node" --version))"
echo "$NODE24_DIR/node_modules/.bin" >&3
