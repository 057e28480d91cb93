# Helpers for the simulator tests (tests/sim/*.sh): sourced, not run.
set -euo pipefail

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A folder for this test's files, removed when the test ends.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fm-simtest-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# json_num FILE KEY: the first number written for "KEY" in a report.  The
# report has one key per line, so no JSON tool is needed.
json_num() {
  local v
  v=$(sed -n "s/^ *\"$2\": \([0-9.-]*\),\{0,1\}$/\1/p" "$1" | head -n 1)
  [ -n "$v" ] || fail "$1 has no number for \"$2\""
  echo "$v"
}

# expect_ok JSON: every invariant held and the run converged.
expect_ok() {
  grep -q '^  "result": "ok",$' "$1" || fail "$1: $(grep '"result"' "$1")"
  grep -q '"converged": true' "$1" || fail "$1: the run did not converge"
  [ "$(json_num "$1" never_arrived)" = 0 ] || fail "$1: entries never reached the gateway"
}

# at_least JSON KEY MIN
at_least() {
  local v
  v=$(json_num "$1" "$2")
  awk -v v="$v" -v m="$3" 'BEGIN { exit !(v + 0 >= m + 0) }' ||
    fail "$1: \"$2\" is $v, expected at least $3"
}
