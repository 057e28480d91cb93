#!/usr/bin/env bash
# A fault is injected and survived: fault.sh SIM SCENARIO [KEY MIN]...
# Each KEY MIN pair says the report must show at least MIN for KEY, so the
# test fails if the fault never happened.
. "$(dirname "$0")/lib.sh"
sim=$1 scenario=$2
shift 2
"$sim" "$scenario" --json "$WORK/run.json" --tmp "$WORK" --verify-all ||
  fail "$(basename "$scenario") exited $?"
expect_ok "$WORK/run.json"
while [ $# -ge 2 ]; do
  at_least "$WORK/run.json" "$1" "$2"
  shift 2
done
echo "ok: $(basename "$scenario")"
