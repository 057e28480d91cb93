#!/usr/bin/env bash
# Presence notes two hops along a line of real daemons on loopback,
# discovery off and static peers only:
#
#   laptop a  --  laptop b  --  hall g        (a never talks to g)
#
# a writes records before it starts, syncs only with b; b syncs with g.
# g's `fieldmesh members --json` shows a's note: last seen within seconds
# of a's start, and the records then on no other laptop; a minute later
# a's next note says none are only on a any more.  A stale and a forged
# note of a offered to g's store are dropped and counted, never kept.
#
# usage: test_presence.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_presence.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
OFFER="$BIN/fm-presence-offer"
NAME=test_presence
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

node() {
  fm "$1" init | tail -n1 >"$W/$1.id"
  fm auth enroll "$(cat "$W/$1.id")" --name "$2" --team "Team 1" --role "${3:-member}" \
    --villages "Nghĩa Tân,Vinh Quang" -o "$W/$1.join" >/dev/null
  fm "$1" join "$W/$1.join" >/dev/null
  printf '[sync]\nping_seconds = 1\nidle_timeout_seconds = 5\n[discovery]\nenabled = false\n' \
    >"$W/$1/fieldmeshd.conf"
}
now_ms() { date +%s%3N; }
# a's object in g's roster, cut before the next device's.
a_on_g() {
  fm g members --json | sed 's/{"device_id"/\n&/g' | grep "\"device_id\":\"$(cat "$W/a.id")\",\"name\"" || true
}
a_field() { jfield "$(a_on_g)" "$1"; }
a_seen_on_g() { [ -n "$(a_field last_seen)" ]; }
a_only_here_on_g() { [ "$(a_field only_here)" = "$1" ]; }

fm auth authority init --commune "Tân Quang" >/dev/null
node a "Lò Thị Lan"
node b "Hoàng Văn Minh"
node g "Nhà văn hóa xã" gateway   # notes travel towards the hall
# g learns of a's enrollment from b (a's entries and certificate travel
# with the sync), never from a itself.

step "a writes 3 records offline; the line a - b - g comes up"
visit a "Nghĩa Tân" 1
visit a "Vinh Quang" 2
visit a "Nghĩa Tân" 3
start g
start b --peer "127.0.0.1:${PORT[g]}"
T_A=$(now_ms)
start a --peer "127.0.0.1:${PORT[b]}"

step "g learns of a two hops away"
wait_for "g to hold a's presence note" a_seen_on_g
SEEN=$(a_field last_seen)
D=$((SEEN - T_A))
[ "${D#-}" -lt 10000 ] || fail "a's last seen on g is ${D} ms from a's start: $(a_on_g)"
[ "$(a_field head_seq)" = 3 ] || fail "a's head on g is not 3: $(a_on_g)"
# At a's first session b held none of a's records: all 3 were only on a.
[ "$(a_field only_here)" = 3 ] || fail "a's only-here figure on g is not 3: $(a_on_g)"
fm g members | grep -q "Lò Thị Lan .* 3 .* fieldmesh 0.1.0" || fail "g's table lacks a's note: $(fm g members)"
if fm g peers --json | grep -q "$(cat "$W/a.id")"; then fail "a and g met directly"; fi

step "a stale and a forged note of a are dropped at g and counted"
[ "$("$OFFER" "$W/a" "$W/g" stale)" = "dropped stale" ] || fail "a stale note was not dropped"
[ "$("$OFFER" "$W/a" "$W/g" forged)" = "dropped forged" ] || fail "a forged note was not dropped"
[ "$(a_field last_seen)" = "$SEEN" ] || fail "a dropped note replaced a's note on g: $(a_on_g)"
[ "$(a_field version)" = "fieldmesh 0.1.0" ] || fail "a dropped note's version shows on g"
fm g members | grep -q "presence notes dropped here:.*1 forged" ||
  fail "g does not count the forged note: $(fm g members)"
fm g members | grep -Eq "presence notes dropped here:.* [1-9][0-9]* stale" ||
  fail "g does not count the stale note: $(fm g members)"

step "a minute later a's next note reaches g: nothing is only on a"
DEADLINE=100
wait_for "a's next note, with 0 only on a, on g" a_only_here_on_g 0
[ "$(a_field last_seen)" -gt "$SEEN" ] || fail "a's newer note is not newer: $(a_on_g)"
fm g members --json | grep -q "\"met\":\[{\"device_id\":\"$(cat "$W/b.id")\"" ||
  fail "a's note does not say it met b: $(a_on_g)"

stop a
stop b
stop g
echo "$NAME: ok"
