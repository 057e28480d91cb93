#!/usr/bin/env bash
# Two laptops over a poor 3G link: 300 ms each way, 20 % of packets lost
# each way, 256 kbit/s each way.  They still find each other by beacons
# (which suffer the same link) and converge; the time is printed.
#
# Without netem: the delay is fm-wire (tests/field/wire.c), which carries
# Ethernet frames between the two namespaces 300 ms late; the rate is a
# tbf qdisc on each side's wire0; the loss an nftables rule on each side,
# `oifname wire0 numgen random mod 100 < 20 drop`.  What the machine does
# not offer (tc tbf, nft, TAP) is detected, and the scenario skips (77).
#
# usage: poor_link.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: poor_link.sh BIN_DIR}
NAME=field_poor_link
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

DELAY_MS=300
LOSS_PCT=20
RATE=256kbit

field_init
command -v tc >/dev/null || skip "tc (iproute2) is not installed: run scripts/setup.sh"
command -v nft >/dev/null || skip "nft is not installed: run scripts/setup.sh (nftables)"

step "two laptops joined only by a ${DELAY_MS} ms wire"
laptop a 10.77.2.1 -
laptop b 10.77.2.2 -
wire_up a b "$DELAY_MS"

# The delay is real: a TCP connect to a closed port answers with a reset
# after one round trip (the first also waits for ARP).
rtt() {
  local t0
  t0=$(now_ms)
  ip netns exec "${NSOF[a]}" bash -c 'exec 3<>/dev/tcp/10.77.2.2/7411' 2>/dev/null || true
  echo $(($(now_ms) - t0))
}
rtt >/dev/null
r=$(rtt)
echo "    round trip a -> b: $r ms"
[ "$r" -ge $((2 * DELAY_MS - 20)) ] || fail "a round trip took $r ms: the wire does not delay"

step "rate $RATE and $LOSS_PCT % loss each way"
for n in a b; do
  if ! err=$(ip netns exec "${NSOF[$n]}" tc qdisc add dev wire0 root tbf rate "$RATE" \
      burst 4kb latency 500ms 2>&1); then
    skip "the tbf qdisc is not available here ($err)"
  fi
  if ! err=$(ip netns exec "${NSOF[$n]}" nft -f - 2>&1 <<EOF
table inet fmfield {
  chain out {
    type filter hook output priority 0; policy accept;
    oifname "wire0" numgen random mod 100 < $LOSS_PCT counter drop
  }
}
EOF
  ); then
    skip "nftables cannot drop packets at random here ($err)"
  fi
done

step "a holds 300 entries, b 100; neither knows the other's address"
"$FILL" "$W/a" 300 >/dev/null
"$FILL" "$W/b" 100 >/dev/null
total=$(own_total a b)
mark
start a
start b
converge 200 "over ${DELAY_MS} ms, $LOSS_PCT % loss, $RATE" "$total" a b

dropped() {
  ip netns exec "${NSOF[$1]}" nft list chain inet fmfield out |
    sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
echo "    the link dropped $(dropped a) packets from a, $(dropped b) from b"
[ "$(dropped a)" -gt 0 ] && [ "$(dropped b)" -gt 0 ] || fail "the loss rule dropped nothing"
log_has a "found by beacon" || log_has b "found by beacon" ||
  fail "neither laptop dialled by beacon"
for n in a b; do stop "$n"; done
echo "$NAME: PASS"
