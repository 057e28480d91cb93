#!/usr/bin/env bash
# Five laptops on one Wi-Fi at the commune hall, no address configured
# anywhere: they find each other by beacons alone and converge.
#   - a..d have IPv4 addresses; e has none, only its IPv6 link-local
#     address, so it is found (and finds the others) over IPv6;
#   - every laptop holds entries the others lack at start;
#   - `fieldmesh peers` shows the laptops as found by "beacon";
#   - once live, a visit written on one laptop reaches all without a dial;
#   - a malformed datagram and a beacon of another commune are dropped,
#     counted and logged, and change nothing.
#
# usage: five_laptops.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: five_laptops.sh BIN_DIR}
NAME=field_five_laptops
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

field_init
step "five laptops on one bridge; e has no IPv4 address"
laptop a 10.77.1.1
laptop b 10.77.1.2
laptop c 10.77.1.3
laptop d 10.77.1.4
laptop e -
for n in a b c d e; do "$FILL" "$W/$n" 40 >/dev/null; done
visit a "Nghĩa Tân" 3
visit e "Vinh Quang" 2
total=$(own_total a b c d e)

step "start five daemons, none with a peer"
mark
for n in a b c d e; do start "$n"; done
converge 120 "five laptops by beacons alone" "$total" a b c d e

step "every connection was dialled because of a beacon"
# Laptops dial only while their digests differ, so the mesh need not be
# complete; but every live connection has a "beacon" record at the end
# that dialled it and an "incoming" one at the other, and every laptop
# has one at least.
# count_links: checks the invariant once (a handshake in flight may make
# one side count a connection the other does not yet), printing each
# laptop's peers into links.txt.
count_links() {
  local n peers live b i dialled=0 accepted=0
  : >"$W/links.txt"
  for n in a b c d e; do
    peers=$(fmx "$n" peers --json | sed 's/},{/}\n{/g')
    live=$(printf '%s\n' "$peers" | grep -c '"state":"live"' || true)
    [ "$live" -ge 1 ] || return 1
    ! printf '%s\n' "$peers" | grep -q '"origin":"static"\|"origin":"manual"' ||
      fail "$n lists a peer it did not learn of by beacon: $peers"
    b=$(printf '%s\n' "$peers" | grep '"state":"live"' | grep -c '"origin":"beacon"' || true)
    i=$(printf '%s\n' "$peers" | grep '"state":"live"' | grep -c '"origin":"incoming"' || true)
    echo "    $n: $live live peers ($b dialled by beacon, $i incoming)" >>"$W/links.txt"
    dialled=$((dialled + b))
    accepted=$((accepted + i))
  done
  [ "$dialled" -eq "$accepted" ] && [ "$dialled" -ge 4 ]
}
wait_for 30 "one beacon record per connection, 4 connections or more" count_links
cat "$W/links.txt"
grep -q "discovery: dialling \[fe80::" "$W"/*.log || fail "nobody dialled e over IPv6"

step "a visit written on b reaches the four others"
mark
visit b "Vinh Quang" 7
converge 60 "one new visit" "$((total + 1))" a b c d e

step "hostile datagrams on the discovery port are dropped and counted"
view=$(digest a)
# Not a beacon at all, then a well-formed beacon of another commune (port
# 7411, random mesh id and node id), both sent to a from c's namespace.
ip netns exec "${NSOF[c]}" bash -c 'printf "not a beacon" >/dev/udp/10.77.1.1/7412'
ip netns exec "${NSOF[c]}" bash -c \
  'printf "FMBC\x01\x00\x1c\xf3"; head -c 72 /dev/urandom' >"$W/foreign.bin"
ip netns exec "${NSOF[c]}" bash -c "cat '$W/foreign.bin' >/dev/udp/10.77.1.1/7412"
wait_for 30 "a to log the malformed beacon" \
  log_has a "dropped a malformed beacon (12 bytes) from 10.77.1.3"
wait_for 30 "a to log the foreign beacon" \
  log_has a "ignoring beacons of another commune from 10.77.1.3"
[ "$(digest a)" = "$view" ] || fail "hostile datagrams changed a's view"

step "SIGTERM: each daemon stops cleanly and says what discovery counted"
for n in a b c d e; do stop "$n"; done
grep -q "discovery: .* 1 of another, 1 malformed" "$W/a.log" || fail "a's discovery summary \
does not count 1 foreign and 1 malformed beacon: $(grep 'beacons sent' "$W/a.log")"
grep "beacons sent" "$W/a.log" | sed 's/^/    a: /'
echo "$NAME: PASS"
