#!/usr/bin/env bash
# `make demo`: run method1 and method2 end to end with Docker Compose and
# print a short report: what the PKI issued, what the client saw, PASS/FAIL;
# then every failure scenario against method1's server, as one table
# (demo/failures-table.sh). Exits 1 if a method failed or a scenario did not
# fail as it must. Needs only Docker (no Node on the host).
#
# Runs under its own project name with a free host port, so it neither
# touches nor collides with a `make up-method1` that is running; removes
# everything it created (containers, network, volumes) when it ends.
set -uo pipefail

read -r -a COMPOSE <<<"${COMPOSE:-docker compose}"
PROJECT="${DEMO_PROJECT:-mtls-demo-demo}"
LOG="$(mktemp "${TMPDIR:-/tmp}/mtls-demo.XXXXXX")"
# The container port alone: Docker picks a free host port (see docker-compose.yml).
export SERVER_PUBLISH=9443

compose() { "${COMPOSE[@]}" -p "$PROJECT" "$@"; }

teardown() {
  compose --profile method1 --profile method2 --profile failures down --volumes --remove-orphans >>"$LOG" 2>&1
  rm -f "$LOG"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# Raw output of a service's container (docker logs, not compose logs: no
# prefixes or terminal codes, and the same with Compose v1 and v2).
service_output() {
  local id
  id="$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -n 1)"
  [ -n "$id" ] && docker logs "$id" 2>&1
}

# The PKI report, one line per identity: name, then subject · SANs · EKU · issuer.
identities() {
  awk '/^  [a-z+]+ +(issued|reused) / { name = $1; action = $2; next }
       name != "" { sub(/^ +/, ""); printf "    %-7s %-7s %s\n", name, action, $0; name = "" }'
}

# The fingerprint the PKI reported for one identity.
fingerprint() {
  awk -v who="$1" '$1 == who && /(issued|reused)/ { found = 1; next }
                   found && /SHA-256/ { print $NF; exit }'
}

# The failure demo's folders from the PKI report, one line each: the
# scenario and what its client holds (the report's reason, after why it was
# issued or kept and "; ").
demo_material() {
  sed -n 's/^  demo-\([a-z-]*\)  *[a-z]*  *([^;]*; \(.*\))$/\1|\2/p' | while IFS='|' read -r scenario holds; do
    printf '    %-17s %s\n' "$scenario" "$holds"
  done
}

# The server's JSON request log, as "client <name>: GET / → 200".
server_view() {
  sed -n 's/.*"event":"request","client":\("[^"]*"\|null\),"method":"\([A-Z]*\)","path":"\([^"]*\)","status":\([0-9]*\).*/    client \1: \2 \3 → \4/p'
}

run_method() {
  local method="$1" title="$2" suffix="$3"
  local output code pki_report
  echo
  echo "== $method: $title"
  echo "   (compose --profile $method: pki$suffix → server$suffix → client$suffix)"

  output="$(compose --profile "$method" run --rm "client$suffix" 2>>"$LOG")"
  code=$?

  pki_report="$(service_output "pki$suffix")"
  echo
  echo "  The PKI container issued (into one volume per identity):"
  if [ -n "$pki_report" ]; then
    printf '%s\n' "$pki_report" | identities
  else
    echo "    (no PKI output)"
  fi
  if [ "$method" = method2 ]; then
    local server_fp client_fp
    server_fp="$(printf '%s\n' "$pki_report" | fingerprint server)"
    client_fp="$(printf '%s\n' "$pki_report" | fingerprint client)"
    if [ -n "$server_fp" ] && [ "$server_fp" = "$client_fp" ]; then
      echo "    (server and client hold the same certificate and key: each trusts exactly it)"
    fi
  fi

  echo
  echo "  The client saw (exit code $code):"
  if [ -n "$output" ]; then
    printf '%s\n' "$output" | sed 's/^/    /'
  else
    echo "    (no client output; Compose said:)"
    tail -n 5 "$LOG" | sed 's/^/    /'
  fi

  echo
  echo "  The server logged:"
  service_output "server$suffix" | server_view | tail -n 3
  echo

  if [ "$code" -eq 0 ] && printf '%s\n' "$output" | tail -n 1 | grep -q '^result:  OK'; then
    echo "  PASS  $method: the server verified the client, the client verified the server"
    return 0
  fi
  echo "  FAIL  $method: client exit code $code"
  return 1
}

run_failures() {
  local started=0
  echo
  echo "== failures: the ways mTLS fails, one client container each, against method1's server"
  echo "   (compose --profile failures: pki-failures → server-failures → client-<scenario>,"
  echo "    each client mounting only its own volume)"
  compose --profile failures up -d >>"$LOG" 2>&1 || started=$?

  echo
  echo "  The PKI container (--with-demo-identities), on method1's volumes:"
  service_output pki-failures | identities
  service_output pki-failures | demo_material
  if [ "$started" -ne 0 ]; then
    echo
    echo "  Compose could not start everything; it said:"
    tail -n 5 "$LOG" | sed 's/^/    /'
  fi
  echo
  "$(dirname "$0")/failures-table.sh" "$PROJECT" && [ "$started" -eq 0 ]
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
