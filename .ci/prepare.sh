#!/usr/bin/env bash
# What the make targets that run Node need, made ready: prints the directory
# of a suitable node (the only stdout line) for the recipe to put first on
# PATH, after running `npm ci` when node_modules does not hold what
# package-lock.json lists. Progress and errors go to stderr, one line each.
# Docker is not prepared here: that needs root (.ci/docker-engine.sh), and
# the container tests say themselves how to get it.
set -Eeuo pipefail
exec 3>&1 1>&2
cd "$(dirname "$0")/.."

STEP_PREFIX=prepare
STEP_LOG="${TMPDIR:-/tmp}/mtls-demo-npm-ci.log"
# shellcheck source=steps.sh
. .ci/steps.sh

node_dir="$(bash .ci/node.sh)" || exit 1   # node.sh printed why
PATH="$node_dir:$PATH"

# By content, not by date: a checkout gives package-lock.json a new date
# without changing what it lists.
if ! why="$(node .ci/installed.cjs)"; then
  # npm ci empties node_modules first: never through a link to an install
  # that other checkouts share.
  [ ! -L node_modules ] \
    || die "node_modules links to $(readlink -f node_modules), which does not match package-lock.json ($why): update that install, or remove the link"
  command -v npm >/dev/null 2>&1 || die "npm is needed for npm ci ($why); install npm"
  start "npm ci ($why)"
  quiet npm ci --no-audit --no-fund
  finish
fi
echo "$node_dir" >&3
