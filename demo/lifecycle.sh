#!/usr/bin/env bash
# The lifecycle part of `make demo`: runs `--profile lifecycle` (a CA service,
# one agent per workload, the server and the loop client) with short-lived
# certificates for a while, then prints every certificate each identity held
# (demo/lifecycle.ts). Exit 1 unless both identities rotated at least twice and
# not one request failed. Needs only Docker: the table is made by the node of
# the client image the demo built.
#
# Its own project name and a free host port: it neither touches nor collides
# with anything running; removes what it created when it ends.
set -uo pipefail

read -r -a COMPOSE <<<"${COMPOSE:-docker compose}"
PROJECT="${DEMO_PROJECT:-mtls-demo-demo}-lifecycle"
LOG="$(mktemp "${TMPDIR:-/tmp}/mtls-demo-lifecycle.XXXXXX")"
HERE="$(cd "$(dirname "$0")" && pwd)"
export SERVER_PUBLISH=9443
export CERT_TTL="${DEMO_CERT_TTL:-10s}"
SECONDS_TO_RUN="${DEMO_LIFECYCLE_SECONDS:-40}"

compose() { "${COMPOSE[@]}" -p "$PROJECT" --profile lifecycle "$@"; }

teardown() {
  compose down --volumes --remove-orphans >>"$LOG" 2>&1
  rm -f "$LOG"
}
trap teardown EXIT
trap 'exit 130' INT TERM

service_output() {
  local id
  id="$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -n 1)"
  [ -n "$id" ] && docker logs "$id" 2>&1
}

echo
echo "== lifecycle: a CA service, keys born where they are used, certificates of $CERT_TTL renewed under traffic"
echo "   (compose --profile lifecycle: ca-init → ca → server-agent, client-agent → server-lifecycle → client-lifecycle)"
if ! compose up -d >>"$LOG" 2>&1; then
  echo "  Compose could not start the profile; it said:"
  tail -n 5 "$LOG" | sed 's/^/    /'
  exit 1
fi
echo "  running for ${SECONDS_TO_RUN} s: the client sends requests over new and kept-alive connections..."
sleep "$SECONDS_TO_RUN"
# SIGTERM: the loop client prints its final summary and exits 0 only if nothing failed.
compose stop client-lifecycle >>"$LOG" 2>&1
echo
{ service_output server-agent; service_output client-agent; service_output client-lifecycle; } |
  docker run --rm -i --network none --read-only --cap-drop ALL --security-opt no-new-privileges:true \
    -v "$HERE/lifecycle.ts:/demo/lifecycle.ts:ro" --entrypoint node "mtls-demo/client:${IMAGE_TAG:-latest}" /demo/lifecycle.ts
