#!/usr/bin/env bash
# The failure table of `make demo`: once the compose profile `failures` ran
# in project $1, one row per scenario with what mTLS must do, what the
# client reported, what the server logged for that very connection, and
# PASS/FAIL. A row passes only when both sides say what is expected. Exits 1
# if any scenario behaved otherwise, a client that got in included.
# Needs only bash, sed and Docker.
set -uo pipefail

PROJECT="${1:?usage: demo/failures-table.sh COMPOSE_PROJECT}"
# How long a server line may lag behind its client's exit (its log is flushed
# once per event-loop turn, and a reset may reach it after the client exited).
LOG_WAIT_TENTHS=50

# service suffix | scenario | expected | client's diagnosis | server's event | its code, or HTTP status
SCENARIOS=(
  'no-cert|no certificate|refused: certificate required|CERTIFICATE_REQUIRED|handshake_failed|ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'
  'rogue-ca|rogue CA|refused: unknown CA|CERTIFICATE_REJECTED|handshake_failed|UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  'expired|expired|refused: certificate expired|CERTIFICATE_REJECTED|handshake_failed|CERT_HAS_EXPIRED'
  'wrong-usage|wrong key usage|refused: wrong key usage|CERTIFICATE_REJECTED|handshake_failed|INVALID_PURPOSE'
  'not-allowed|not allowed|handshake OK, then HTTP 403|FORBIDDEN|request|403'
  'wrong-name|wrong server name|the client refuses the server|HOSTNAME_MISMATCH|handshake_failed|ECONNRESET'
  'untrusted-server|untrusted server|the client refuses the server|SERVER_UNTRUSTED|handshake_failed|ECONNRESET'
)

container() {
  docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -n 1
}

# A string or number field of one JSON log line (our log has no nested objects here).
field() {
  sed -n -e "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" -e "t" -e "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p"
}

# The server's log line about the connection from address:port, the client's
# local end. The server names its peer by the same pair (as ::ffff:a.b.c.d
# when it listens on IPv6).
server_line() {
  local ip="${1%:*}" port="${1##*:}" tries=0 line
  while :; do
    line="$(docker logs "$server" 2>&1 |
      grep -E "\"remote\":\"(::ffff:)?${ip//./\\.}\",\"remotePort\":${port}[,}]" | tail -n 1)"
    if [ -n "$line" ] || [ "$tries" -ge "$LOG_WAIT_TENTHS" ]; then
      printf '%s' "$line"
      return
    fi
    tries=$((tries + 1))
    sleep 0.1
  done
}

server="$(container server-failures)"
[ -n "$server" ] || { echo "no server-failures container in project $PROJECT" >&2; exit 1; }

header=(scenario expected 'client reported' connection 'server logged for that connection' '')
rows=()
failed=0
for spec in "${SCENARIOS[@]}"; do
  IFS='|' read -r id scenario expected want_client want_event want_value <<<"$spec"
  client="$(container "client-$id")"
  if [ -z "$client" ]; then
    rows+=("$scenario|$expected|no container client-$id|-|-|FAIL")
    failed=$((failed + 1))
    continue
  fi
  # A client Compose created but never started (its server never became
  # healthy) would make `docker wait` wait forever.
  if [ "$(docker inspect -f '{{.State.Status}}' "$client")" = created ]; then
    rows+=("$scenario|$expected|never started|-|-|FAIL")
    failed=$((failed + 1))
    continue
  fi
  code="$(docker wait "$client")"
  output="$(docker logs "$client" 2>&1)"

  result="$(printf '%s\n' "$output" | sed -n 's/^result: *//p' | tail -n 1)"
  case "$result" in
    OK*) diagnosis=OK ;;
    FAILED*) diagnosis="$(printf '%s' "$result" | sed 's/^FAILED \([A-Z_0-9]*\):.*/\1/')" ;;
    *) diagnosis='no result' ;;
  esac
  http="$(printf '%s\n' "$output" | sed -n 's/^http: *\([0-9]*\).*/\1/p' | tail -n 1)"
  reported="$diagnosis${http:+, HTTP $http} (exit $code)"

  connection="$(printf '%s\n' "$output" | sed -n 's/^conn: *\([^ ]*\) .*/\1/p' | tail -n 1)"
  line=''
  [ -n "$connection" ] && line="$(server_line "$connection")"
  event="$(printf '%s' "$line" | field event)"
  case "$event" in
    handshake_failed)
      value="$(printf '%s' "$line" | field code)"
      logged="$(printf '%s' "$line" | field reason) [$value]" ;;
    request)
      value="$(printf '%s' "$line" | field status)"
      why="$(printf '%s' "$line" | field reason)"
      logged="HTTP $value for $(printf '%s' "$line" | field client)${why:+: $why}" ;;
    *)
      value=''
      logged="${connection:+nothing for this connection}" ;;
  esac

  verdict=PASS
  if [ "$code" != 1 ] || [ "$diagnosis" != "$want_client" ] || [ "$event" != "$want_event" ] || [ "$value" != "$want_value" ]; then
    verdict=FAIL
    failed=$((failed + 1))
  fi
  rows+=("$scenario|$expected|$reported|${connection:--}|${logged:--}|$verdict")
done

# Column widths from the longest cell.
widths=()
for row in "$(IFS='|'; echo "${header[*]}")" "${rows[@]}"; do
  IFS='|' read -r -a cells <<<"$row"
  for i in "${!cells[@]}"; do
    [ "${#cells[$i]}" -gt "${widths[$i]:-0}" ] && widths[i]=${#cells[$i]}
  done
done
print_row() {
  local i line=''
  IFS='|' read -r -a cells <<<"$1"
  for i in "${!cells[@]}"; do
    line+="${cells[$i]}$(printf '%*s' $((widths[i] - ${#cells[$i]} + 2)) '')"
  done
  printf '  %s\n' "${line%"${line##*[! ]}"}"
}
print_row "$(IFS='|'; echo "${header[*]}")"
for row in "${rows[@]}"; do print_row "$row"; done

echo
if [ "$failed" -eq 0 ]; then
  echo "  PASS  every client was turned away as expected, and the server's log says why"
  exit 0
fi
echo "  FAIL  $failed of ${#SCENARIOS[@]} scenarios behaved otherwise"
exit 1
