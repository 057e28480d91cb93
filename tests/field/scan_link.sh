#!/usr/bin/env bash
# A 5 MB scan over a 256 kbit/s link that is cut three times (once for
# longer than the idle timeout, so the session dies and a new one resumes
# by chunk).  A visit recorded on a while the scan travels reaches b
# before the scan is whole.  The scan arrives byte for byte; the bytes
# that crossed the link (both ways, everything: TCP/IP, Noise, beacons,
# the records, the retries) are at most 1.15 times the scan's size.  The
# time and the bytes are printed.
#
# usage: scan_link.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: scan_link.sh BIN_DIR}
NAME=field_scan_link
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

RATE=256kbit
SIZE=5000000
SYNC_CONF=$'ping_seconds = 1\nidle_timeout_seconds = 5'

field_init
command -v tc >/dev/null || skip "tc (iproute2) is not installed: run scripts/setup.sh"

step "two laptops joined only by a $RATE link (20 ms each way)"
laptop a 10.77.6.1 -
laptop b 10.77.6.2 -
wire_up a b 20
for n in a b; do
  if ! err=$(ip netns exec "${NSOF[$n]}" tc qdisc add dev wire0 root tbf rate "$RATE" \
      burst 4kb latency 500ms 2>&1); then
    skip "the tbf qdisc is not available here ($err)"
  fi
done

step "a records a dossier and attaches a 5 MB scan"
head -c "$SIZE" /dev/urandom >"$W/scan.jpg"
D=$(fmx a dossier add --procedure khai_sinh --applicant-name "Nguyễn Văn A" \
  --village "Nghĩa Tân" | tail -n1)
fmx a dossier attach "$D" "$W/scan.jpg" --kind id_card >/dev/null
CHUNKS=$(( (SIZE + 61439) / 61440 ))

wire_bytes() {
  local n t=0
  for n in a b; do
    t=$((t + $(ip netns exec "${NSOF[$n]}" cat /sys/class/net/wire0/statistics/tx_bytes)))
  done
  echo "$t"
}
chunks_on_b() { status_field b scan_chunks; }
b_has() { [ "$(chunks_on_b)" -ge "$1" ]; }
cut() {
  local n
  for n in a b; do ip -n "${NSOF[$n]}" link set wire0 down; done
  sleep "$1"
  for n in a b; do ip -n "${NSOF[$n]}" link set wire0 up; done
}

B0=$(wire_bytes)
mark
start a
start b
N=$(status_field a entries)
wait_for 120 "b holds the dossier" converged "$N" a b
echo "    the record crossed first; the scan follows in $CHUNKS chunks"

step "cut 1 (3 s) after 10 chunks"
wait_for 300 "10 chunks on b" b_has 10
cut 3

step "a records a visit while the scan travels; it overtakes the scan"
visit a "Nghĩa Tân" 4
wait_for 120 "b holds the visit" converged $((N + 1)) a b
at=$(chunks_on_b)
echo "    b held the visit with $at of $CHUNKS chunks of the scan"
[ "$at" -lt "$CHUNKS" ] || fail "the scan was whole before the visit arrived"

step "cut 2 (8 s, past the 5 s idle timeout: the session dies and a new one resumes)"
wait_for 300 "$((at + 15)) chunks on b" b_has $((at + 15))
cut 8

step "cut 3 (3 s)"
wait_for 300 "60 chunks on b" b_has 60
cut 3

step "the scan arrives whole"
wait_for 400 "all $CHUNKS chunks on b" b_has "$CHUNKS"
ms=$(( $(now_ms) - T_MARK ))
bytes=$(( $(wire_bytes) - B0 ))
fmx b dossier attachment get "$D" 1 -o "$W/back.jpg" >/dev/null
cmp -s "$W/scan.jpg" "$W/back.jpg" || fail "the scan b wrote differs"
[ "$(status_field b scan_chunks_missing)" = 0 ] || fail "b still wants chunks"
ratio=$(awk -v b="$bytes" -v s="$SIZE" 'BEGIN { printf "%.3f", b / s }')
printf '%s: a %d-byte scan over %s with 3 cuts: %d.%01d s, %d bytes on the link (%s x its size)\n' \
  "$NAME" "$SIZE" "$RATE" $((ms / 1000)) $((ms % 1000 / 100)) "$bytes" "$ratio"
awk -v r="$ratio" 'BEGIN { exit !(r <= 1.15) }' ||
  fail "$bytes bytes crossed the link for a $SIZE-byte scan ($ratio x, more than 1.15 x)"
fmx b verify | grep -q '^verify: ok' || fail "verify failed on b"
echo "ok"
