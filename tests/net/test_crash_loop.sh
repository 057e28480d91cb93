#!/usr/bin/env bash
# A receiving fieldmeshd killed with SIGKILL at random points while it
# ingests, many times over (FM_CRASH_ROUNDS, 50 by default).  After every
# kill: the store opens, `fieldmesh verify` passes, and nothing it had
# committed is lost; then the daemon starts again and the sync goes on.
# When the receiver has everything, its store is wiped and the transfer
# starts over, so every round kills a daemon in the middle of real work.
# Until the first wipe, the sender never counts more of its entries as
# held by the receiver than the receiver really committed: entries in
# flight when it died (received, not yet committed) are not copies.
# At the end the receiver must complete the sync and agree with the sender.
#
# usage: test_crash_loop.sh BIN_DIR    (fieldmesh, fieldmeshd, fm-fill)
set -euo pipefail
BIN=${1:?usage: test_crash_loop.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
ROUNDS=${FM_CRASH_ROUNDS:-50}
NAME=test_crash_loop
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

step "a sender with 3000 entries and an empty receiver"
fm auth authority init --commune "Tân Quang" >/dev/null
for n in s r; do
  fm "$n" init | tail -n1 >"$W/$n.id"
  fm auth enroll "$(cat "$W/$n.id")" --name "Laptop $n" --team "Team 1" --role member \
    -o "$W/$n.join" >/dev/null
  fm "$n" join "$W/$n.join" >/dev/null
done
[ "$("$BIN/fm-fill" "$W/s" 3000)" = 3000 ] || fail "fm-fill"
start s
total=$(status_field s entries)
own=$(status_field s self_seq)

# copies_counted: the sender's own entries it counts on another laptop.
copies_counted() {
  local j
  j=$(fm s status --json)
  echo $(( $(jfield "$j" 1) + $(jfield "$j" 2+) ))
}

kills=0 restarts_from_empty=0 mid=0
RANDOM=$$
for round in $(seq "$ROUNDS"); do
  before=$(status_field r entries)
  start r --peer "127.0.0.1:${PORT[s]}"
  # A random point: 0 to 600 ms into the session.
  sleep "0.$(printf '%03d' $((RANDOM % 600)))"
  kill -9 "${PID[r]}"
  wait "${PID[r]}" 2>/dev/null || true
  unset "PID[r]"
  kills=$((kills + 1))
  after=$(status_field r entries) || fail "round $round: the store does not open after SIGKILL"
  [ "$after" -ge "$before" ] || fail "round $round: entries went from $before to $after"
  fm r verify >"$W/verify.out" 2>&1 || fail "round $round: verify failed: $(cat "$W/verify.out")"
  [ "$after" -gt "$before" ] && [ "$after" -lt "$total" ] && mid=$((mid + 1))
  if [ "$restarts_from_empty" = 0 ]; then
    # r holds the authority's entries and the sender's first ones.
    stored=$(( after - (total - own) ))
    counted=$(copies_counted)
    [ "$counted" -le "$stored" ] ||
      fail "round $round: s counts $counted of its entries on r, which committed $stored"
  fi
  if [ "$after" = "$total" ]; then
    # Done already: start over, so the next kill lands mid-transfer again.
    rm -rf "$W/r/store"
    fm r join "$W/r.join" >/dev/null
    restarts_from_empty=$((restarts_from_empty + 1))
  fi
done
echo "$kills kills ($mid mid-transfer), $restarts_from_empty transfers completed between kills"
[ "$mid" -ge 1 ] || fail "no kill landed while entries were flowing"

step "the sync resumes to completion"
start r --peer "127.0.0.1:${PORT[s]}"
wait_for "r to complete the transfer" same_view r s
fm r verify | grep -q '^verify: ok' || fail "verify after the last sync"
[ "$(status_field r quarantined)" = 0 ] || fail "entries were quarantined"
stop r
stop s
echo "test_crash_loop: ok"
