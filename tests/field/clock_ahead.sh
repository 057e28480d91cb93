#!/usr/bin/env bash
# A laptop whose clock is three days ahead.  Its member records visits
# (its CLI runs with FIELDMESH_NOW three days ahead; every daemon uses the
# real clock).  The others receive them, keep them, and flag them:
# `fieldmesh status` counts them as clock_ahead and `fieldmesh doctor`
# names the laptop (a note: another laptop's clock is not this one's
# problem).  Their own clocks are not dragged along: what they
# write afterwards is stamped with the real time.
#
# usage: clock_ahead.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: clock_ahead.sh BIN_DIR}
NAME=field_clock_ahead
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

DAY_MS=86400000
field_init
step "a, b and x, whose clock is 3 days ahead"
laptop a 10.77.5.1
laptop b 10.77.5.2
laptop x 10.77.5.9
visit a "Nghĩa Tân" 2
visit b "Vinh Quang" 1
for v in 3 1 4; do FIELDMESH_NOW=$(( $(now_ms) + 3 * DAY_MS )) visit x "Nghĩa Tân" "$v"; done
ahead=$("$HLC" "$W/x")
echo "    x's last entry is stamped $(( (ahead - $(now_ms) + 1800000) / 3600000 )) h ahead"
[ "$ahead" -gt $(( $(now_ms) + 2 * DAY_MS )) ] || fail "x's entries are not stamped ahead"

mark
for n in a b x; do start "$n"; done
converge 60 "with x's clock ahead" "$(own_total a b x)" a b x

step "a and b keep x's three entries and flag them"
for n in a b; do
  [ "$(status_field "$n" clock_ahead)" = 3 ] ||
    fail "$n counts $(status_field "$n" clock_ahead) entries stamped ahead, expected 3"
  rc=0
  out=$(fmx "$n" doctor 2>&1) || rc=$?
  [ "$rc" -eq 0 ] || fail "fieldmesh doctor on $n exits $rc for another laptop's clock: $out"
  case "$out" in *"another laptop's clock"*"Laptop X"*"3.0 days ahead"*) ;;
    *) fail "fieldmesh doctor on $n does not name x's clock: $out" ;; esac
done
for n in a b; do
  wait_for 30 "$n's daemon log to say a clock is ahead" log_has "$n" "days ahead: 3 of its entries"
  grep -F "days ahead" "$W/$n.log" | grep -qF "Laptop X" || fail "$n's log does not name Laptop X"
done
[ "$(status_field x clock_ahead)" = 0 ] ||
  fail "x flags entries although the others' clocks are right"

step "what a and b write now is stamped with the real time"
for n in a b; do
  t0=$(now_ms)
  visit "$n" "Vinh Quang" 5
  t1=$(now_ms)
  h=$("$HLC" "$W/$n")
  echo "    $n's new entry: stamp - real time = $((h - t0)) ms (write took $((t1 - t0)) ms)"
  [ "$h" -ge $((t0 - 1000)) ] && [ "$h" -le $((t1 + 1000)) ] ||
    fail "$n's new entry is stamped $((h - t1)) ms past the real time: its clock was dragged"
done
converge 60 "the new visits" "$(own_total a b x)" a b x
for n in a b x; do stop "$n"; done
echo "$NAME: PASS"
