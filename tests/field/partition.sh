#!/usr/bin/env bash
# A partition healed: two groups of laptops (two villages) work apart for
# a while, writing on both sides, then meet again and converge to one view.
#
# a and b hang on one bridge, c and d on another; a trunk (a veth pair)
# joins the bridges.  Taking the trunk down splits the mesh; the sessions
# across it die of silence (idle timeout 5 s here), both sides write, each
# side converges on its own, and when the trunk comes back the laptops
# find each other again by beacons alone.
#
# usage: partition.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: partition.sh BIN_DIR}
NAME=field_partition
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

field_init
step "two villages: a, b on one bridge, c, d on another, a trunk between"
ip -n "$SW" link add br1 type bridge mcast_snooping 0
ip -n "$SW" link set br1 up
ip -n "$SW" link add t0 type veth peer name t1
ip -n "$SW" link set t0 master br0 up
ip -n "$SW" link set t1 master br1 up
SYNC_CONF=$'ping_seconds = 1\nidle_timeout_seconds = 5'
laptop a 10.77.4.1 br0
laptop b 10.77.4.2 br0
laptop c 10.77.4.3 br1
laptop d 10.77.4.4 br1
for n in a b c d; do "$FILL" "$W/$n" 25 >/dev/null; done
mark
for n in a b c d; do start "$n"; done
converge 60 "four laptops, one mesh" "$(own_total a b c d)" a b c d

# live_across: some laptop of one village still has a live session with
# one of the other.
live_across() {
  local n
  for n in a b; do fmx "$n" peers --json | sed 's/},{/}\n{/g' | grep '"state":"live"' |
    grep -q '"name":"Laptop [CD]"' && return 0; done
  for n in c d; do fmx "$n" peers --json | sed 's/},{/}\n{/g' | grep '"state":"live"' |
    grep -q '"name":"Laptop [AB]"' && return 0; done
  return 1
}
apart() { ! live_across; }

step "the trunk goes down; the sessions across it die"
ip -n "$SW" link set t0 down
wait_for 60 "the sessions across the partition to end" apart

step "both villages write while apart"
mark
visit a "Nghĩa Tân" 4
visit b "Vinh Quang" 2
"$FILL" "$W/a" 150 >/dev/null
visit c "Nghĩa Tân" 6
"$FILL" "$W/d" 120 >/dev/null
visit d "Vinh Quang" 1
west=$(( $(own_total a b) + 50 ))   # plus c's and d's 25 each from before
east=$(( $(own_total c d) + 50 ))
converge 60 "village a-b on its own" "$west" a b
converge 60 "village c-d on its own" "$east" c d
[ "$(digest a)" != "$(digest c)" ] || fail "the two villages agree although apart"
dials=$(cat "$W"/[abcd].log | grep -c "discovery: dialling" || true)

step "the trunk comes back"
mark
ip -n "$SW" link set t0 up
converge 120 "partition healed" "$(own_total a b c d)" a b c d
after=$(cat "$W"/[abcd].log | grep -c "discovery: dialling" || true)
echo "    $((after - dials)) dials by beacon after the heal"
[ "$after" -gt "$dials" ] || fail "the villages met again without a beacon dial"
for n in a b c d; do stop "$n"; done
for n in a d; do
  out=$(fmx "$n" verify 2>&1) || fail "fieldmesh verify fails on $n: $out"
done
echo "$NAME: PASS"
