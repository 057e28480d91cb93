#!/usr/bin/env bash
# A device on the village Wi-Fi that keeps opening bad connections to a
# laptop.  x is a laptop of another commune: refused at its HELLO again
# and again, it is an honest device and is never ignored.  Then x breaks
# the protocol (random bytes instead of HELLO): the laptop answers the
# first few such connections, then ignores x's address for a while -- its
# connections closed at once, before any crypto -- lists it as "ignored"
# in `fieldmesh peers`, names it in `fieldmesh doctor`, and goes on
# syncing with its own commune's laptops.  When the period ends the
# address is heard again, and the next failure doubles it.
#
# usage: hostile.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: hostile.sh BIN_DIR}
NAME=field_hostile
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
HOSTILE="$BIN/fm-hostile"
FREE=3      # failures forgiven (FMD_SHUN_FREE in daemon/shun.h)
FIRST=10    # seconds of the first period (FMD_SHUN_FIRST_MS)

field_init
[ -x "$HOSTILE" ] || fail "$HOSTILE is not built"
step "laptops a and b of Tân Quang; x, a laptop of Hòa Phước, on the same Wi-Fi"
laptop a 10.77.6.1
laptop b 10.77.6.2
host x 10.77.6.9
"$FM" --state "$W/auth2" authority init --commune "Hòa Phước" >/dev/null
"$FM" --state "$W/x" init | tail -n1 >"$W/x.id"
"$FM" --state "$W/auth2" enroll "$(cat "$W/x.id")" --name "Laptop X" --team "Tổ 1" \
  --role member --villages "Trà Kiểm" -o "$W/x.join" >/dev/null
"$FM" --state "$W/x" join "$W/x.join" >/dev/null
for n in a b; do "$FILL" "$W/$n" 30 >/dev/null; done
mark
for n in a b; do start "$n"; done
converge 60 "a and b" "$(own_total a b)" a b

# attack [MODE]: one bad connection from x to a (fm-hostile MODE, noise
# by default); prints fm-hostile's exit code.
attack() {
  local rc=0
  ip netns exec "${NSOF[x]}" "$HOSTILE" "$W/x" 10.77.6.1:7411 "${1:-noise}" \
    >>"$W/x.out" 2>>"$W/x.err" || rc=$?
  echo "$rc"
}

# More refusals than `fieldmesh peers` has rows (48): each leaves an
# address record, and the ignored caller must still be listed later.
REFUSALS=52
step "x, of another commune, is refused $REFUSALS times and never ignored"
for i in $(seq $REFUSALS); do
  rc=$(attack garbage)
  [ "$rc" -eq 0 ] || fail "refusal $i: fm-hostile exited $rc ($(tail -n1 "$W/x.err"))"
done
grep -q "enrolled by another commune" "$W/x.out" || fail "x was not told why: $(cat "$W/x.out")"
log_has a "ignoring connections" && fail "a ignores an honest device of another commune"

step "x sends random bytes instead of HELLO $((FREE + 1)) times: answered, then closed"
for i in $(seq $((FREE + 1))); do
  rc=$(attack)
  [ "$rc" -eq 0 ] || fail "bad connection $i: fm-hostile exited $rc, expected the daemon to close it ($(tail -n1 "$W/x.err"))"
done
wait_for 10 "a to say it ignores x" log_has a "ignoring connections from 10.77.6.9 for $FIRST s"
grep -F "ignoring connections from 10.77.6.9" "$W/a.log" | tail -n1

step "while ignored, x's connections are closed before the handshake"
for i in 1 2 3; do
  rc=$(attack)
  [ "$rc" -eq 2 ] || fail "an ignored caller got through (fm-hostile exited $rc)"
done
tail -n1 "$W/x.err" | grep -q "handshake failed" || fail "fm-hostile: $(tail -n1 "$W/x.err")"

P=$(fmx a peers --json | sed 's/},{/}\n{/g' | grep '"addr":"10.77.6.9"' || true)
[ -n "$P" ] || fail "fieldmesh peers on a does not list 10.77.6.9: $(fmx a peers --json)"
case "$P" in *'"state":"ignored"'*) ;; *) fail "10.77.6.9 is not shown as ignored: $P" ;; esac
TABLE=$(fmx a peers)
printf '%s\n' "$TABLE" | grep "^10.77.6.9 " | grep -q "ignored (" ||
  fail "the peers table lacks the ignored caller"
printf '%s\n' "$TABLE" | grep "^10.77.6.9 "
printf '%s\n' "$TABLE" | grep -q "more addresses not shown" ||
  fail "peers on a does not say it left addresses out"
case "$(fmx a peers --json)" in
  *'"omitted":0'*) fail "peers on a omits nothing although it knows more addresses than it shows" ;;
esac
rc=0
D=$(fmx a doctor) || rc=$?
[ "$rc" -eq 1 ] || fail "doctor exited $rc with a device ignored; expected 1 (a problem)"
printf '%s\n' "$D" | grep -q "device at 10.77.6.9" || fail "doctor does not name x: $D"
printf '%s\n' "$D" | grep "10.77.6.9"

step "a goes on syncing with b"
mark
visit b "Vinh Quang" 5
visit a "Nghĩa Tân" 2
converge 60 "a and b while x is ignored" "$(own_total a b)" a b

step "after $FIRST s x is heard again; its next failure is ignored twice as long"
t0=$SECONDS
until [ "$(attack)" -eq 0 ]; do
  [ $((SECONDS - t0)) -lt $((FIRST + 30)) ] || fail "x was still ignored after $((SECONDS - t0)) s"
  sleep 1
done
echo "    heard again after about $((SECONDS - t0)) s"
wait_for 10 "a to ignore x for $((2 * FIRST)) s" \
  log_has a "ignoring connections from 10.77.6.9 for $((2 * FIRST)) s"

for n in a b; do stop "$n"; done
log_has a "connections at once from callers being ignored" ||
  fail "a did not count the connections it closed at once"
grep -F "callers being ignored" "$W/a.log"

step "with ignore_failing_callers = no, a answers every connection"
sed -i 's/^\[node\]$/[node]\nignore_failing_callers = no/' "$W/a.conf"
before=$(grep -c "ignoring connections" "$W/a.log")
start a
for i in $(seq $((FREE + 3))); do
  rc=$(attack)
  [ "$rc" -eq 0 ] || fail "connection $i with the setting off: fm-hostile exited $rc"
done
[ "$(grep -c "ignoring connections" "$W/a.log")" -eq "$before" ] ||
  fail "a ignored x although ignore_failing_callers = no"
stop a
for n in a b; do
  out=$(fmx "$n" verify 2>&1) || fail "fieldmesh verify fails on $n: $out"
done
[ "$(status_field a entries)" -eq "$(own_total a b)" ] || fail "x's connections changed a's store"
echo "$NAME: PASS"
