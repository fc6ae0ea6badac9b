#!/usr/bin/env bash
# Print the image to pass as build arg NODE_IMAGE (last and only stdout line).
#
# Uses $NODE_IMAGE (default node:24-bookworm-slim) when it is in the local
# store or can be pulled. Where no registry is reachable it builds, once, a
# local stand-in "mtls-demo/node-base:24": a Debian bookworm rootfs made with
# mmdebstrap, Node 24 from the npm package node@24, the host's npm CLI, a
# node user (uid/gid 1000) and the host's CA bundle (the npm registry is
# reached through a TLS-inspecting proxy only the host trusts). The CA is a
# concern of this CI stand-in only; the product's Dockerfiles never copy it.
# Needs a running engine (.ci/docker-engine.sh). Idempotent.
# The recipe: the README, "Running the container tests without a registry".
set -Eeuo pipefail

# Everything goes to stderr except the final image name.
exec 3>&1 1>&2

NODE_IMAGE="${NODE_IMAGE:-node:24-bookworm-slim}"
PULL_TIMEOUT="${PULL_TIMEOUT:-20}"
STANDIN_TAG=mtls-demo/node-base:24
ROOTFS_TAG=mtls-demo/rootfs:bookworm
NODE24_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/mtls-demo/node24"
HOST_CA_BUNDLE="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
LOG="${TMPDIR:-/tmp}/mtls-demo-base-image.log"

STEP_PREFIX=base-image
# shellcheck source=steps.sh
. "$(dirname "$0")/steps.sh"
trap 'die "unexpected failure at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM   # so the EXIT clean-up also runs when interrupted

# Run a noisy command with its output kept in $LOG; on failure show its end.
quiet() {
  local out rc=0
  out="$(DEBIAN_FRONTEND=noninteractive "$@" 2>&1 </dev/null)" || rc=$?
  printf '%s\n' "$out" >>"$LOG"
  if [ "$rc" != 0 ]; then
    [ "$open_line" = 1 ] && echo "FAILED" && open_line=0
    printf '%s\n' "$out" | tail -n 15
    die "'$*' failed (full log: $LOG)"
  fi
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
emit() { echo "$1" >&3; exit 0; }

command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH"
docker info >/dev/null 2>&1 || die "Docker engine not reachable (run .ci/docker-engine.sh first)"

# 1. The requested image, if we have it or can pull it ----------------------
if have_image "$NODE_IMAGE"; then
  say "$NODE_IMAGE already in the local store"
  emit "$NODE_IMAGE"
fi
start "pulling $NODE_IMAGE (timeout ${PULL_TIMEOUT} s)"
if timeout "$PULL_TIMEOUT" docker pull -q "$NODE_IMAGE" >>"$LOG" 2>&1; then
  finish
  emit "$NODE_IMAGE"
fi
finish "not available, using the local stand-in $STANDIN_TAG"

# 2. The local stand-in -----------------------------------------------------
if have_image "$STANDIN_TAG"; then
  say "$STANDIN_TAG already built"
  emit "$STANDIN_TAG"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 2a. Debian bookworm rootfs image.
if have_image "$ROOTFS_TAG"; then
  say "$ROOTFS_TAG already imported"
else
  if command -v mmdebstrap >/dev/null 2>&1; then
    say "mmdebstrap already installed"
  else
    [ "$(id -u)" = 0 ] || die "installing mmdebstrap needs root"
    start "installing mmdebstrap"
    quiet apt-get update
    quiet apt-get install -y mmdebstrap
    finish
  fi
  start "building a bookworm rootfs with mmdebstrap"
  quiet mmdebstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs.tar"
  finish
  start "importing it as $ROOTFS_TAG"
  quiet docker import "$work/rootfs.tar" "$ROOTFS_TAG"
  rm -f "$work/rootfs.tar"
  finish
fi

# 2b. Node 24 binary (npm package node@24), cached between runs.
node24="$NODE24_DIR/node_modules/node/bin/node"
if [ -x "$node24" ] && "$node24" --version 2>/dev/null | grep -q '^v24\.'; then
  say "Node $("$node24" --version) already in $NODE24_DIR"
else
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch node@24"
  start "installing node@24 into $NODE24_DIR"
  mkdir -p "$NODE24_DIR"
  quiet npm install --prefix "$NODE24_DIR" --no-audit --no-fund node@24
  [ -x "$node24" ] && "$node24" --version | grep -q '^v24\.' \
    || die "npm install node@24 did not give a Node 24 binary at $node24"
  finish "done, $("$node24" --version)"
fi
node_version="$("$node24" --version)"

# 2c. npm CLI of the host. Resolved from the npm executable itself: with a
# Node 24 from $NODE24_DIR first on PATH, `npm root -g` points into that dir.
npm_cli="$(readlink -f "$(command -v npm 2>/dev/null || true)" 2>/dev/null || true)"
npm_dir="$(dirname "$(dirname "$npm_cli")")"
if [ ! -f "$npm_dir/bin/npm-cli.js" ]; then
  npm_dir="$(npm root -g 2>/dev/null || true)/npm"
fi
[ -f "$npm_dir/bin/npm-cli.js" ] && [ -f "$npm_dir/bin/npx-cli.js" ] \
  || die "cannot find the host's npm CLI (looked at $npm_dir)"
[ -r "$HOST_CA_BUNDLE" ] || die "host CA bundle $HOST_CA_BUNDLE not readable"

# 2d. Build, verify under a candidate tag, then tag.
start "building $STANDIN_TAG (Node $node_version, npm $(node -p "require('$npm_dir/package.json').version" 2>/dev/null || echo '?'))"
ctx="$work/ctx"
mkdir -p "$ctx"
cp -L "$node24" "$ctx/node"
cp -a "$npm_dir" "$ctx/npm"
cp -L "$HOST_CA_BUNDLE" "$ctx/ca-certificates.crt"
cat >"$ctx/Dockerfile" <<EOF
# CI stand-in for node:24-bookworm-slim, generated by .ci/base-image.sh.
FROM $ROOTFS_TAG
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    NODE_VERSION=${node_version#v}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
# Host CA bundle (includes the CA of the TLS-inspecting proxy): CI only.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN set -e; \\
    chmod 0755 /usr/local/bin/node; \\
    chmod 0644 /etc/ssl/certs/ca-certificates.crt; \\
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; \\
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; \\
    if command -v useradd >/dev/null; then \\
      groupadd --gid 1000 node; \\
      useradd --uid 1000 --gid node --shell /bin/bash --create-home --home-dir /home/node node; \\
    else \\
      echo 'node:x:1000:' >>/etc/group; \\
      echo 'node:x:1000:1000::/home/node:/bin/bash' >>/etc/passwd; \\
      mkdir -p /home/node; chown 1000:1000 /home/node; \\
    fi
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \\
    NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt
LABEL org.opencontainers.image.description="mtls-demo CI stand-in for node:24-bookworm-slim (carries the CI host's CA bundle)"
CMD ["node"]
EOF
candidate="$STANDIN_TAG-candidate"
quiet env DOCKER_BUILDKIT=1 docker build -t "$candidate" "$ctx"
finish

start "verifying $candidate"
v="$(docker run --rm "$candidate" node --version 2>&1)" || die "node does not run in the image: $v"
[[ "$v" == v24.* ]] || die "node --version in the image printed '$v', expected v24.x"
u="$(docker run --rm -u 1000 "$candidate" id -u 2>&1)" || die "cannot run as uid 1000: $u"
[ "$u" = 1000 ] || die "id -u as user 1000 printed '$u'"
n="$(docker run --rm -u 1000 "$candidate" npm --version 2>&1)" || die "npm --version failed in the image: $n"
docker tag "$candidate" "$STANDIN_TAG"
docker rmi "$candidate" >/dev/null
finish "ok (node $v, npm $n, uid $u)"

emit "$STANDIN_TAG"
