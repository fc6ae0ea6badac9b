#!/usr/bin/env bash
# `make demo`: run method1 and method2 end to end with Docker Compose and
# print a short report: what the PKI issued, what the client saw, PASS/FAIL;
# then every failure scenario of demo/scenarios.ts against method1's server,
# as one table. Exits 1 if a method failed or a scenario did not fail as it
# must. Needs only Docker (no Node on the host).
#
# This script runs containers and keeps their output in files; the reports
# (demo/method-report.ts, demo/failures-table.ts) read those files as JSON,
# by key, with the node of the client image the demo has just built.
#
# Runs under its own project name with a free host port, so it neither
# touches nor collides with a `make up-method1` that is running; removes
# everything it created (containers, network, volumes) when it ends.
set -uo pipefail

read -r -a COMPOSE <<<"${COMPOSE:-docker compose}"
PROJECT="${DEMO_PROJECT:-mtls-demo-demo}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mtls-demo.XXXXXX")"
LOG="$WORK/compose.log"
# The container port alone: Docker picks a free host port (see docker-compose.yml).
export SERVER_PUBLISH=9443
# The PKI prints JSON in compose; the clients do when asked.
export CLIENT_OUTPUT=json

compose() { "${COMPOSE[@]}" -p "$PROJECT" "$@"; }

teardown() {
  compose --profile method1 --profile method2 --profile failures down --volumes --remove-orphans >>"$LOG" 2>&1
  rm -rf "$WORK"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# node from the client image, on this checkout (read-only) and the gathered
# output (/in), as the user running the demo (who can read both), with no
# network, capability or write access.
report() {
  docker run --rm --network none --read-only --cap-drop ALL --security-opt no-new-privileges:true \
    --user "$(id -u):$(id -g)" -e NODE_COMPILE_CACHE= -v "$ROOT:/src:ro" -v "$WORK:/in:ro" -w /src --entrypoint node \
    "mtls-demo/client:${IMAGE_TAG:-latest}" "$@"
}

# Compose's last words, when it could not do what was asked.
compose_said() {
  local line
  tail -n 5 "$LOG" | while IFS= read -r line; do echo "    $line"; done
}

# docker logs of a service's container (no prefixes or terminal codes).
service_output() {
  local id
  for id in $(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1"); do
    docker logs "$id" 2>&1
  done
}

run_method() {
  local method="$1" title="$2" suffix="$3"
  local dir="$WORK/$method"
  mkdir -p "$dir"
  echo
  echo "== $method: $title"
  echo "   (compose --profile $method: pki$suffix → server$suffix → client$suffix)"
  echo

  compose --profile "$method" run --rm -T "client$suffix" >"$dir/client.out" 2>>"$LOG"
  echo $? >"$dir/client.exit"
  service_output "pki$suffix" >"$dir/pki.out"
  # Stopped first: it writes out its whole log as it stops.
  compose --profile "$method" stop "server$suffix" >>"$LOG" 2>&1
  service_output "server$suffix" >"$dir/server.log"

  if ! [ -s "$dir/client.out" ]; then
    echo "  (no client output; Compose said:)"
    compose_said
  fi
  report demo/method-report.ts "$method" "/in/$method"
}

run_failures() {
  local dir="$WORK/failures" started=0
  mkdir -p "$dir"
  echo
  echo "== failures: the ways mTLS fails, one client container each, against method1's server"
  echo "   (compose --profile failures: pki-failures → server-failures → client-<scenario>,"
  echo "    each client mounting only its own volume)"
  echo
  compose --profile failures up -d >>"$LOG" 2>&1 || started=$?
  if [ "$started" -ne 0 ]; then
    echo "  Compose could not start everything; it said:"
    compose_said
    echo
  fi
  "$ROOT/demo/collect-failures.sh" "$PROJECT" "$dir"
  report demo/failures-table.ts /in/failures && [ "$started" -eq 0 ]
}

echo "mTLS demo: a PKI container issues certificates, a server and a client container"
echo "authenticate each other with them over a private Docker network."

failed=0
run_method method1 "a private CA signs one certificate per identity" "" || failed=$((failed + 1))
# The volumes stay: the failure scenarios face this very CA and server.
compose --profile method1 down >>"$LOG" 2>&1
run_method method2 "one self-signed certificate, presented and trusted by both sides" "-method2" || failed=$((failed + 1))
# Every profile's server answers to `server` on the one network: one at a
# time. (No --volumes: it would remove every volume of the project.)
compose --profile method2 down >>"$LOG" 2>&1
run_failures || failed=$((failed + 1))

echo
if [ "$failed" -eq 0 ]; then
  echo "PASS: both methods completed a mutual TLS handshake, and every failure scenario failed as it must."
  exit 0
fi
echo "FAIL: $failed of 3 parts failed (method1, method2, failures)."
exit 1
