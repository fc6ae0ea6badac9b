#!/usr/bin/env bash
# Gathers what the `failures` profile of compose project $1 left behind into
# folder $2, for demo/failures-table.ts: per client container its output
# (client-<scenario>.out) and exit code (.exit, or "created" when it never
# started), the PKI's report (pki.out) and the server's log (server.log).
# The server is stopped first (it writes out its log as it stops), so the
# log holds a line for every connection. This script reads none of it: the
# table reads it, by key.
set -uo pipefail

PROJECT="${1:?usage: demo/collect-failures.sh COMPOSE_PROJECT DIR}"
DIR="${2:?usage: demo/collect-failures.sh COMPOSE_PROJECT DIR}"

# The containers of one service of the project, running or exited.
containers() {
  docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1"
}

for id in $(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"); do
  service="$(docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}}' "$id")"
  case "$service" in
    client-*)
      # A client Compose created but never started (its server never became
      # healthy) would make `docker wait` wait forever.
      if [ "$(docker inspect -f '{{.State.Status}}' "$id")" = created ]; then
        echo created >"$DIR/$service.exit"
      else
        docker wait "$id" >"$DIR/$service.exit"
        docker logs "$id" >"$DIR/$service.out" 2>&1
      fi ;;
  esac
done

for id in $(containers pki-failures); do docker logs "$id" >"$DIR/pki.out" 2>&1; done
for id in $(containers server-failures); do
  docker stop "$id" >/dev/null
  docker logs "$id" >"$DIR/server.log" 2>&1
done
