#!/usr/bin/env bash
# "Safe to leave the village" is true or it is not said: two laptops on one
# hotspot, the link then cut (the hotspot's side of b's cable taken down).
# A record written on a after the cut exists only on a: `fieldmesh status`
# there must count it as "only here" and say NOT safe -- while the dead
# session lingers and after it died of silence -- until b really stores it
# (the link back up, b's ACK), then say safe.
#
# usage: copies.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: copies.sh BIN_DIR}
NAME=field_copies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

field_init
SYNC_CONF=$'ping_seconds = 1\nidle_timeout_seconds = 5'
laptop a 10.77.6.1
laptop b 10.77.6.2
safe() { [ "$(status_field a safe_to_leave)" = true ]; }
not_safe() { [ "$(status_field a safe_to_leave)" = false ]; }
live_to_b() {
  fmx a peers --json | sed 's/},{/}\n{/g' | grep '"state":"live"' | grep -q '"name":"Laptop B"'
}
dead_to_b() { ! live_to_b; }

step "a and b meet on the hotspot; a's first record reaches b"
visit a "Nghĩa Tân" 2
start a
start b
wait_for 60 "a and b to converge" converged "$(own_total a b)" a b
wait_for 30 "a to count b's copy" safe
[ "$(jfield "$(fmx a status --json)" 1)" = 1 ] || fail "a's one entry is not counted on one other laptop"

step "b's cable is cut; a writes"
ip -n "$SW" link set p-b down
visit a "Vinh Quang" 3
for i in 1 2 3 4 5; do
  not_safe || fail "a says safe with a record that only a holds (check $i)"
  [ "$(status_field a only_here)" = 1 ] || fail "only_here is not 1: $(fmx a status --json)"
  sleep 0.5
done
wait_for 60 "a's session with b to die of silence" dead_to_b
for i in 1 2 3; do
  not_safe || fail "a says safe after the session died, with a record only a holds"
  sleep 0.5
done
fmx a status | grep -q "NOT safe to leave the village" || fail "the status line does not say NOT safe"

step "the cable comes back: b stores the record and a says safe"
ip -n "$SW" link set p-b up
wait_for 60 "b to receive a's second record" converged "$(own_total a b)" a b
wait_for 30 "a to say safe" safe
[ "$(status_field a only_here)" = 0 ] || fail "only_here is not 0 after b stored everything"
fmx a status | grep -q "safe to leave the village" || fail "the status line does not say safe"
stop a
stop b
echo "$NAME: ok"
