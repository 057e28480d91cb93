#!/usr/bin/env bash
# The checker catches a broken protocol: a build that acknowledges one
# batch of entries without storing it must fail same-entries, naming the
# node and the entry; the sound build passes the same scenario.
#   broken.sh SIM BROKEN_SIM SCENARIO
. "$(dirname "$0")/lib.sh"
sim=$1 broken=$2 scenario=$3
"$sim" "$scenario" --json "$WORK/good.json" --tmp "$WORK" > /dev/null ||
  fail "the sound build fails the scenario (exit $?)"
expect_ok "$WORK/good.json"
set +e
"$broken" "$scenario" --json "$WORK/bad.json" --tmp "$WORK" > "$WORK/bad.txt" 2> "$WORK/bad.err"
code=$?
set -e
cat "$WORK/bad.err" >&2
[ "$code" = 11 ] || fail "the broken build exited $code, expected 11 (same-entries)"
grep -q "invariant same-entries failed (exit 11): node [a-z0-9-]* (.*) lacks entry .*#[0-9]* (id [0-9a-f]*" \
  "$WORK/bad.err" || fail "the failure does not name the invariant, the node and the entry"
grep -q '"result": "same-entries"' "$WORK/bad.json" || fail "the JSON does not name the invariant"
echo "ok: the broken build fails same-entries"
