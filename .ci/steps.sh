# Sourced by the .ci scripts: one line per step, "PREFIX: doing X ... done (N s)",
# and one ERROR line on failure. Set STEP_PREFIX and STEP_LOG first.
open_line=0
say() { echo "$STEP_PREFIX: $*"; }
start() { printf '%s: %s ... ' "$STEP_PREFIX" "$*"; open_line=1; step_t0=$SECONDS; }
finish() { echo "${1:-done} ($((SECONDS - step_t0)) s)"; open_line=0; }
die() {
  [ "$open_line" = 1 ] && echo "FAILED" && open_line=0
  echo "$STEP_PREFIX: ERROR: $*" >&2
  exit 1
}
trap 'die "unexpected failure at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM   # so the EXIT clean-up also runs when interrupted

# Run a noisy command with its output kept in $STEP_LOG; on failure show its end.
quiet() {
  local out rc=0
  out="$(DEBIAN_FRONTEND=noninteractive "$@" 2>&1 </dev/null)" || rc=$?
  printf '%s\n' "$out" >>"$STEP_LOG"
  if [ "$rc" != 0 ]; then
    [ "$open_line" = 1 ] && echo "FAILED" && open_line=0
    printf '%s\n' "$out" | tail -n 15 >&2
    die "'$*' failed (full log: $STEP_LOG)"
  fi
}
