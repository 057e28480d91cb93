#!/usr/bin/env bash
# Clock offsets measured in sessions, with real daemons on loopback:
# laptop a's clock is 2 hours ahead (its daemon under libfaketime); it
# syncs with the hall g.  Each side reads the other's wall clock in the
# presence sum (docs/protocol.md, 9.4): a's own presence note says its
# clock is about 2 hours ahead of the laptops it met, and g shows that
# in `fieldmesh members`, `fieldmesh doctor` and the dashboard's Mesh page.
#
# usage: test_presence_clock.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_presence_clock.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
NAME=test_presence_clock
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "no curl: run scripts/setup.sh"

TWO_HOURS_MS=7200000
WEB=$NEXT_PORT
NEXT_PORT=$((NEXT_PORT + 1))
node() {
  fm "$1" init | tail -n1 >"$W/$1.id"
  fm auth enroll "$(cat "$W/$1.id")" --name "$2" --team "Team 1" --role "$3" \
    --villages "Nghĩa Tân" -o "$W/$1.join" >/dev/null
  fm "$1" join "$W/$1.join" >/dev/null
  printf '[sync]\nping_seconds = 1\n[discovery]\nenabled = false\n' >"$W/$1/fieldmeshd.conf"
}
a_on_g() {
  fm g members --json | sed 's/{"device_id"/\n&/g' | grep "\"device_id\":\"$(cat "$W/a.id")\",\"name\"" || true
}
# a's note on g says its clock is 2 hours ahead, give or take a minute.
a_two_hours_ahead_on_g() {
  local off
  off=$(jfield "$(a_on_g)" clock_offset_ms)
  [ -n "$off" ] && [ $((off - TWO_HOURS_MS)) -lt 60000 ] && [ $((TWO_HOURS_MS - off)) -lt 60000 ]
}

FAKE=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -e "$FAKE" ] || fail "libfaketime is not installed: run scripts/setup.sh"

fm auth authority init --commune "Tân Quang" >/dev/null
node a "Lò Thị Lan" member
node g "Nhà văn hóa xã" gateway
printf '[upstream]\nspool = %s\n[web]\nlisten = 127.0.0.1:%s\n' "$W/spool" "$WEB" \
  >>"$W/g/fieldmeshd.conf"

step "a, its clock 2 hours ahead, syncs with g"
printf '+2h\n' >"$W/a.faketime"
start g
LD_PRELOAD=$FAKE FAKETIME_TIMESTAMP_FILE="$W/a.faketime" FAKETIME_NO_CACHE=1 \
  FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
  start a --peer "127.0.0.1:${PORT[g]}"

step "g shows a's clock about 2 hours ahead"
DEADLINE=120
wait_for "a's note with its clock offset on g" a_two_hours_ahead_on_g
fm g members | grep -q "Lò Thị Lan .* +[12]h[0-9][0-9]m " || fail "g's table lacks a's clock: $(fm g members)"
fm g doctor >"$W/doctor" 2>&1 || true
grep -q "the clock of the laptop of .*Lò Thị Lan.* is +[12]h[0-9][0-9]m" "$W/doctor" ||
  fail "g's doctor does not tell a's clock: $(cat "$W/doctor")"
code=$(curl -sS -o "$W/page" -w '%{http_code}' "http://127.0.0.1:$WEB/?lang=en")
[ "$code" = 200 ] || fail "the Mesh page answered $code"
grep -q "clock off by +[12]h[0-9][0-9]m" "$W/page" || fail "the Mesh page does not flag a's clock"

step "g's own offset: the one laptop it met is 2 hours ahead of it"
g_behind() {
  local off
  off=$(jfield "$(fm g members --json | sed 's/{"device_id"/\n&/g' | grep "\"device_id\":\"$(cat "$W/g.id")\",\"name\"")" clock_offset_ms)
  [ -n "$off" ] && [ $((off + TWO_HOURS_MS)) -lt 60000 ] && [ $((-TWO_HOURS_MS - off)) -lt 60000 ]
}
wait_for "g's own note to say it is 2 hours behind the laptop it met" g_behind

stop a
stop g
echo "$NAME: ok"
