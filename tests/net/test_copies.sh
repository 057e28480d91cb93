#!/usr/bin/env bash
# "Safe to leave the village" with real daemons on loopback:
#   - the other laptop's daemon frozen (SIGSTOP) while a record is
#     written: status must not say safe, and counts the record as only
#     here, until the other laptop really stores it (SIGCONT, its ACK);
#   - a laptop restored from an old backup that wrote records offline,
#     more than the other laptop got after the backup: the other laptop
#     refuses them (its log of that key went on without them), the
#     refusal and its reason reach `fieldmesh peers` and the log; then the
#     restored laptop takes its log back and records them again, and only
#     once the other laptop stores those do they count as copies;
#   - a scan attached while the other laptop is frozen waits to travel
#     (status counts its bytes, doctor names it) until the other laptop
#     says it keeps every chunk (HELD), not when they were sent;
#   - the wall clock of one laptop set two days forward, then back,
#     during a live session (libfaketime, its monotonic clock untouched):
#     the session survives past its idle timeout and keeps syncing.
#
# usage: test_copies.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_copies.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
NAME=test_copies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# The CLI's own judgement and the daemon's, over its control socket.
safe() {
  local j
  j=$(fm "$1" status --json)
  [ "$(jfield "$j" safe_to_leave)" = true ] &&
    [ "$(jfield "${j#*\"daemon\"}" safe_to_leave)" = true ]
}
not_safe() {
  local j
  j=$(fm "$1" status --json)
  [ "$(jfield "$j" safe_to_leave)" = false ] &&
    [ "$(jfield "${j#*\"daemon\"}" safe_to_leave)" = false ]
}
own_of() { status_field "$1" self_seq; }
own_is() { [ "$(own_of "$1")" = "$2" ]; }
holds() { [ "$(status_field "$1" entries)" = "$2" ]; }
live() { fm "$1" peers --json | grep -q '"state":"live"'; }

fm auth authority init --commune "Tân Quang" >/dev/null
laptop a "Lò Thị Lan"
laptop b "Hoàng Văn Minh"
for x in a b; do
  printf '[sync]\nping_seconds = 1\nidle_timeout_seconds = 5\n' >"$W/$x/fieldmeshd.conf"
done

step "a and b live; a's first record is on b: safe"
start b
start a --peer "127.0.0.1:${PORT[b]}"
wait_for "a and b to be live" live a
visit a "Nghĩa Tân" 2
wait_for "b to hold a's record" holds b 1
wait_for "a to count b's copy" safe a

step "b frozen with SIGSTOP; a writes: not safe until b stores it"
kill -STOP "${PID[b]}"
visit a "Vinh Quang" 1
for i in 1 2 3 4 5 6; do
  not_safe a || fail "a says safe while b, frozen, cannot have stored the record (check $i)"
  [ "$(status_field a only_here)" = 1 ] || fail "only_here is not 1: $(fm a status --json)"
  sleep 0.5
done
fm a status | grep -q "NOT safe to leave the village" || fail "status does not say NOT safe"
kill -CONT "${PID[b]}"
wait_for "b to store the record" holds b 2
wait_for "a to say safe once b acknowledged" safe a
[ "$(status_field a only_here)" = 0 ] || fail "only_here is not 0 after b stored it"

step "a scan: not safe until b says it keeps every chunk"
kill -STOP "${PID[b]}"
D=$(fm a dossier add --procedure khai_sinh --applicant-name "Nguyễn Văn A" \
  --village "Nghĩa Tân" | tail -n1)
head -c 200000 /dev/urandom >"$W/scan.jpg"
fm a dossier attach "$D" "$W/scan.jpg" >/dev/null
for i in 1 2 3; do
  not_safe a || fail "a says safe while b, frozen, cannot hold the scan (check $i)"
  [ "$(status_field a scans_unsafe)" = 1 ] || fail "scans_unsafe is not 1: $(fm a status --json)"
  [ "$(status_field a scan_bytes_waiting)" -ge 200000 ] ||
    fail "the scan's bytes are not waiting to travel: $(fm a status --json)"
  sleep 0.5
done
fm a status | grep -q "own scans .* 1 (2[0-9]* bytes) wait to travel" ||
  fail "status does not say the scan waits to travel: $(fm a status)"
{ fm a doctor || true; } | grep -q "scan attached here .* on fewer than 1 other laptop" ||
  fail "doctor does not name the scan only here"
kill -CONT "${PID[b]}"
wait_for "b to hold the scan's chunks" eval '[ "$(status_field b scan_chunks_missing)" = 0 ] && [ "$(status_field b scan_chunks)" -ge 4 ]'
wait_for "a to say safe once b kept the scan" safe a
[ "$(status_field a scans_unsafe)" = 0 ] || fail "scans_unsafe is not 0 once b kept it"

step "b at its scan quota fetches no more; a's scan is then not safe"
stop b
cp "$W/b/fieldmeshd.conf" "$W/b.conf"
printf '[node]\nscans_max_mb = 1\n' >>"$W/b/fieldmeshd.conf"
start b --peer "127.0.0.1:${PORT[a]}"    # a's --peer names b's old port: b dials
wait_for "a and b to be live again" live b
head -c 2000000 /dev/urandom >"$W/big.jpg"       # 33 chunks: past b's 1 MiB
fm a dossier attach "$D" "$W/big.jpg" >/dev/null
wait_for "b to reach its quota" eval '[ "$(status_field b scans_full)" = 1 ]'
sleep 2
held=$(status_field b scan_chunks)
[ "$held" -lt 30 ] || fail "b fetched $held chunks past its 1 MiB quota"
[ "$(status_field b scan_chunks_missing)" -gt 0 ] || fail "b should still lack chunks"
[ "$(status_field b scans_max)" = 1048576 ] || fail "b's daemon did not record its quota"
fm b status | grep -q "the scan quota (1 MiB, \[node\] scans_max_mb) is reached" ||
  fail "status does not say the quota is reached: $(fm b status)"
{ fm b doctor || true; } | grep -q "scan quota reached" || fail "doctor does not name the quota"
not_safe a || fail "a says safe while b refused most of its scan"
[ "$(status_field a scans_unsafe)" = 1 ] || fail "a's big scan should be the one unsafe"
stop b
cp "$W/b.conf" "$W/b/fieldmeshd.conf"
start b --peer "127.0.0.1:${PORT[a]}"
wait_for "b to fetch the rest once the quota is lifted" eval '[ "$(status_field b scan_chunks_missing)" = 0 ]'
wait_for "a to say safe once b kept the whole scan" safe a

step "a dossier takes at most 32 scans"
D2=$(fm a dossier add --procedure khai_sinh --applicant-name "Trần Văn B" \
  --village "Nghĩa Tân" | tail -n1)
printf 'page' >"$W/page.jpg"
for i in $(seq 1 32); do fm a dossier attach "$D2" "$W/page.jpg" >/dev/null; done
refused 1 "already has 32 scans, the most one dossier takes" fm a dossier attach "$D2" "$W/page.jpg"
n=$(status_field a entries)
wait_for "b to hold every record" holds b "$n"

step "a's wall clock two days forward, then back, in a live session"
stop a
printf '+0\n' >"$W/a.faketime"
FAKE=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -e "$FAKE" ] || fail "libfaketime is not installed: run scripts/setup.sh"
LD_PRELOAD=$FAKE FAKETIME_TIMESTAMP_FILE="$W/a.faketime" FAKETIME_NO_CACHE=1 \
  FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
  start a --peer "127.0.0.1:${PORT[b]}"
wait_for "a and b to be live again" live a
gone_a=$(count_in_log a "disconnected")
gone_b=$(count_in_log b "disconnected")
for shift in +2d -2d; do
  printf '%s\n' "$shift" >"$W/a.faketime"
  # Past the 5 s idle timeout and several pings: a session on the wall
  # clock would have died of "silence" or stalled its pings.
  sleep 8
  live a || fail "the session died after a's clock moved $shift: $(fm a peers --json)"
  [ "$(count_in_log a disconnected)" = "$gone_a" ] || fail "a disconnected after its clock moved $shift"
  [ "$(count_in_log b disconnected)" = "$gone_b" ] || fail "b disconnected after a's clock moved $shift"
  visit b "Nghĩa Tân" 1
  visit a "Vinh Quang" 1
  n=$((n + 2))
  wait_for "both records to cross after the clock moved $shift" holds a "$n"
  wait_for "both records to cross after the clock moved $shift" holds b "$n"
  # The daemon's clock really moved: set back two days, it finds b's new
  # record stamped two days ahead of it.
  [ "$shift" != -2d ] || [ "$(status_field a clock_ahead)" -ge 1 ] ||
    fail "a's daemon clock did not move (libfaketime not in effect?)"
done
stop a
stop b

step "a restored from an old backup writes offline; b refuses what does not follow; a heals"
cp -a "$W/a/store" "$W/a.backup"
old=$(own_of a)                            # a's own records in the backup
start b
start a --peer "127.0.0.1:${PORT[b]}"
visit a "Nghĩa Tân" 1
visit a "Nghĩa Tân" 1
wait_for "b to hold everything" holds b "$(status_field a entries)"
stop a
rm -rf "$W/a/store"
cp -a "$W/a.backup" "$W/a/store"
for i in 1 2 3 4; do visit a "Vinh Quang" 1; done   # another history from old+1
[ "$(own_of a)" = $((old + 4)) ] || fail "the restored laptop did not write offline"
start a --peer "127.0.0.1:${PORT[b]}"
wait_for "a to hear b refuse its records" log_has a "refused entries"
peers=$(fm a peers --json)
case "$peers" in *'"last_refused":"seq '*) ;; *) fail "a's peers do not show the refusal: $peers" ;; esac
case "$peers" in *'"refused":0'*) fail "a's peers count no refused entry: $peers" ;; esac
fm a peers | grep -q "refused seq" || fail "the peers table does not show the refusal"
# a takes b's old+1, old+2 back and records its 4 again after them.
wait_for "a to take its log back and record its 4 again" own_is a $((old + 6))
wait_for "b to hold a's records written again" holds b "$(status_field a entries)"
wait_for "a to count b's copies of them" safe a
[ "$(status_field a only_here)" = 0 ] || fail "a counts records as only here: $(fm a status --json)"
stop a
stop b
echo "$NAME: ok"
