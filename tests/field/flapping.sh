#!/usr/bin/env bash
# Links that come and go during a transfer of thousands of entries: the
# Wi-Fi of a village point that drops every few seconds.
#
# a holds 4,000 entries and c 1,000; b holds 10 and must receive 5,000
# through a 2 Mbit/s link (tbf) while its link and c's go down and up
# (ip link set down/up) every few seconds, out of phase.  Every third
# outage of b lasts longer than the idle timeout, so its sessions die and
# are dialled again by beacon, resuming from b's vector.  In the end all
# three hold exactly the same 5,010 entries and view, and `fieldmesh
# verify` passes on each: nothing lost, nothing duplicated.
#
# usage: flapping.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: flapping.sh BIN_DIR}
NAME=field_flapping
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

field_init
command -v tc >/dev/null || skip "tc (iproute2) is not installed: run scripts/setup.sh"

step "three laptops; b and c behind links that will flap"
SYNC_CONF=$'ping_seconds = 1\nidle_timeout_seconds = 6'
laptop a 10.77.3.1
laptop b 10.77.3.2
laptop c 10.77.3.3
for end in "$SW p-b" "${NSOF[b]} eth0"; do
  # shellcheck disable=SC2086
  set -- $end
  if ! err=$(ip netns exec "$1" tc qdisc add dev "$2" root tbf rate 2mbit burst 16kb \
      latency 200ms 2>&1); then
    skip "the tbf qdisc is not available here ($err)"
  fi
done
"$FILL" "$W/a" 4000 >/dev/null
"$FILL" "$W/c" 1000 >/dev/null
"$FILL" "$W/b" 10 >/dev/null
total=$(own_total a b c)

# flap NAME DOWN_S UP_S LONG_S: takes NAME's eth0 down for DOWN_S seconds,
# every third time for LONG_S, with UP_S seconds up in between, until
# killed.  Each change is a line in flaps.log.
flap() {
  local n=$1 i=0 down
  while :; do
    i=$((i + 1))
    down=$2
    [ $((i % 3)) -ne 0 ] || down=$4
    ip -n "${NSOF[$n]}" link set eth0 down
    echo "$(now_ms) $n down ${down}s" >>"$W/flaps.log"
    sleep "$down"
    ip -n "${NSOF[$n]}" link set eth0 up
    echo "$(now_ms) $n up" >>"$W/flaps.log"
    sleep "$3"
  done
}

step "start the daemons, then flap b (1.5 s down, 9 s every third) and c (1 s down)"
mark
for n in a b c; do start "$n"; done
: >"$W/flaps.log"
bg flap b 1.5 2.5 9
sleep 0.7
bg flap c 1 3 1
converge 180 "5,010 entries through flapping links" "$total" a b c
flaps=$(grep -c down "$W/flaps.log" || true)
fb=$(grep -c ' b down' "$W/flaps.log" || true)
echo "    $flaps outages before convergence: $fb of b, $((flaps - fb)) of c"
[ "$flaps" -ge 3 ] ||
  fail "only $flaps outages came before the transfer ended: too short to test anything"

step "links up for good: still one view, and nothing lost or duplicated"
for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
wait "${BG[@]}" 2>/dev/null || true
BG=()
for n in b c; do ip -n "${NSOF[$n]}" link set eth0 up; done
converged "$total" a b c || fail "the laptops disagree once the links are up"
drops=$(grep -c "disconnected after" "$W/b.log" || true)
redials=$(cat "$W"/[abc].log | grep -c "discovery: dialling" || true)
echo "    b saw $drops sessions end; $redials dials by beacon in all"
for n in a b c; do stop "$n"; done
for n in a b c; do
  out=$(fmx "$n" verify 2>&1) || fail "fieldmesh verify fails on $n: $out"
done
echo "    fieldmesh verify passes on a, b and c; each holds $total entries"
echo "$NAME: PASS"
