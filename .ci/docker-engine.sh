#!/usr/bin/env bash
# Make sure a Docker engine with Compose v2 and buildx (BuildKit) is usable.
#
# On a normal CI runner (docker info, docker compose and docker buildx all
# work) this does nothing. On a bare Debian 12 machine with only a Docker CLI
# it follows the offline recipe: Debian's docker.io engine started in the
# background, plus the Compose v2 and buildx CLI plugins taken from Debian 13
# (trixie) packages. Idempotent: every step is skipped when its result is
# already there. The README, "Running the container tests without a registry", explains why.
set -Eeuo pipefail

COMPOSE_DEB_VERSION="${COMPOSE_DEB_VERSION:-2.26.1-4}"
BUILDX_DEB_VERSION="${BUILDX_DEB_VERSION:-0.13.1+ds1-3}"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
DOCKERD_LOG=/var/log/dockerd.log
APT_LOG="${TMPDIR:-/tmp}/mtls-demo-docker-engine-apt.log"
TEMP_SOURCE=/etc/apt/sources.list.d/zz-mtls-demo-trixie-tmp.sources
ENGINE_WAIT_SECONDS=60

STEP_PREFIX=docker
STEP_LOG="$APT_LOG"
# shellcheck source=steps.sh
. "$(dirname "$0")/steps.sh"

engine_ok() { docker info >/dev/null 2>&1; }
compose_ok() { docker compose version >/dev/null 2>&1; }
buildx_ok() { docker buildx version >/dev/null 2>&1; }
# Is a dockerd process alive? (assume yes when pgrep is not available)
dockerd_alive() { ! command -v pgrep >/dev/null 2>&1 || pgrep -x dockerd >/dev/null 2>&1; }

print_versions() {
  docker compose version
  docker buildx version
}

command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH"

# Fast path: a working Docker (hosted CI runner, or a second run here).
if engine_ok && compose_ok && buildx_ok; then
  say "engine, compose v2 and buildx already usable"
  print_versions
  exit 0
fi

[ "$(id -u)" = 0 ] || die "setting up Docker needs root (run as root or provide a working Docker)"

# 1. Engine binaries --------------------------------------------------------
if engine_ok || command -v dockerd >/dev/null 2>&1; then
  say "dockerd already installed"
else
  start "installing docker.io"
  quiet apt-get update
  quiet apt-get install -y docker.io
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd not on PATH"
  finish "done, $(dockerd --version | cut -d, -f1)"
fi

# 2. Engine running ---------------------------------------------------------
if engine_ok; then
  say "engine already running"
else
  if command -v pgrep >/dev/null 2>&1 && pgrep -x dockerd >/dev/null 2>&1; then
    start "dockerd already started, waiting for it"
  else
    start "starting dockerd (log: $DOCKERD_LOG)"
    # setsid + nohup: the daemon must outlive this script and its job group.
    nohup setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  waited=0
  until engine_ok; do
    sleep 1
    waited=$((waited + 1))
    engine_ok && break
    dockerd_alive || die "dockerd exited at start-up: $(tail -n 1 "$DOCKERD_LOG" 2>/dev/null)"
    [ "$waited" -lt "$ENGINE_WAIT_SECONDS" ] \
      || die "dockerd did not answer within ${ENGINE_WAIT_SECONDS} s (see $DOCKERD_LOG)"
  done
  finish "up, server $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
fi

# 3. Compose v2 and buildx CLI plugins from Debian trixie -------------------
need_pkgs=()
if compose_ok; then say "compose v2 already installed"; else need_pkgs+=("docker-compose=$COMPOSE_DEB_VERSION"); fi
if buildx_ok; then say "buildx already installed"; else need_pkgs+=("docker-buildx=$BUILDX_DEB_VERSION"); fi

if [ "${#need_pkgs[@]}" -gt 0 ]; then
  work="$(mktemp -d)"
  cleanup() {
    # Always drop the temporary trixie source and refresh the lists, so
    # nothing else on the machine can be upgraded from trixie later.
    if [ -e "$TEMP_SOURCE" ]; then
      rm -f "$TEMP_SOURCE"
      DEBIAN_FRONTEND=noninteractive apt-get update >>"$APT_LOG" 2>&1 \
        || echo "docker: WARNING: apt-get update after removing $TEMP_SOURCE failed" >&2
    fi
    rm -rf "$work"
  }
  trap cleanup EXIT

  start "downloading ${need_pkgs[*]} from trixie"
  uris="$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null \
    | grep -v -- '-security' | head -n 1 || true)"
  [ -n "$uris" ] || uris="http://deb.debian.org/debian"
  cat >"$TEMP_SOURCE" <<EOF
Types: deb
URIs: $uris
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  quiet apt-get update
  mkdir -p "$work/debs" "$work/root"
  chmod 755 "$work"
  chown _apt "$work/debs" 2>/dev/null || true   # lets apt download sandboxed
  cd "$work/debs"
  quiet apt-get download "${need_pkgs[@]}"
  cd /
  rm -f "$TEMP_SOURCE"
  quiet apt-get update
  finish

  start "installing CLI plugins into $PLUGIN_DIR"
  for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$work/root"
  done
  mkdir -p "$PLUGIN_DIR"
  for p in "${need_pkgs[@]}"; do
    name="${p%%=*}"
    src="$work/root/usr/libexec/docker/cli-plugins/$name"
    [ -x "$src" ] || die "$name plugin not found in the downloaded package"
    install -m 0755 "$src" "$PLUGIN_DIR/$name"
  done
  finish

  compose_ok || die "docker compose still not usable after installing the plugin"
  buildx_ok || die "docker buildx still not usable after installing the plugin"
fi

print_versions
