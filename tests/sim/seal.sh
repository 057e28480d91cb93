#!/usr/bin/env bash
# Sealing on (docs/privacy.md, P5): every invariant holds (same entries,
# same view digest everywhere), the gateway opens every sealed field, no
# laptop opens another team's, none is unreadable.   seal.sh SIM SCENARIO [ARGS...]
. "$(dirname "$0")/lib.sh"
sim=$1 scenario=$2
shift 2
"$sim" "$scenario" "$@" --seal --json "$WORK/run.json" --tmp "$WORK" >"$WORK/run.txt" ||
  fail "$scenario --seal exited $?: $(tail -n 20 "$WORK/run.txt")"
expect_ok "$WORK/run.json"
at_least "$WORK/run.json" grants 1
at_least "$WORK/run.json" gateway_opened 1
[ "$(json_num "$WORK/run.json" gateway_locked)" = 0 ] || fail "the gateway cannot open some sealed fields"
[ "$(json_num "$WORK/run.json" foreign_opened)" = 0 ] || fail "a laptop opened another team's sealed fields"
[ "$(json_num "$WORK/run.json" unreadable)" = 0 ] || fail "sealed fields did not open"
grep "^sealing" "$WORK/run.txt"
echo "ok: $(basename "$scenario") sealed"
