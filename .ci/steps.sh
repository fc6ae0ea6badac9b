# Sourced by the .ci scripts: one line per step, "PREFIX: doing X ... done (N s)",
# and one ERROR line on failure. Set STEP_PREFIX first.
open_line=0
say() { echo "$STEP_PREFIX: $*"; }
start() { printf '%s: %s ... ' "$STEP_PREFIX" "$*"; open_line=1; step_t0=$SECONDS; }
finish() { echo "${1:-done} ($((SECONDS - step_t0)) s)"; open_line=0; }
die() {
  [ "$open_line" = 1 ] && echo "FAILED" && open_line=0
  echo "$STEP_PREFIX: ERROR: $*" >&2
  exit 1
}
