#!/usr/bin/env bash
# Causality before clocks, with two real daemons on loopback:
#   - laptop a's clock is 10 years ahead (its daemon under libfaketime, its
#     CLI with FIELDMESH_NOW): its member records a dossier and submits it
#     with a reference;
#   - laptop b, on the right clock, receives both and corrects the
#     reference and the note: b's change was made after seeing a's, so it
#     wins on both laptops although a's stamp is 10 years later;
#   - a's clock is fixed: its daemon says once that the laptop's last
#     stamp is ahead of its clock, and a new dossier on a shows today's
#     date and is stamped with the present, not with a's old future;
#   - a bundle of another format version is refused, naming it.
#
# usage: test_daemon_clock.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_daemon_clock.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
HLC="$BIN/fm-hlc"
NAME=test_daemon_clock
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

YEARS_MS=$(( 3650 * 86400000 ))
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# The day in Vietnam time (UTC+7), as the CLI shows dates.
today() { TZ=Asia/Ho_Chi_Minh date +%F; }
# fa ARGS...: the CLI on a while its clock is 10 years ahead.
fa() { FIELDMESH_NOW=$(( $(now_ms) + YEARS_MS )) fm a "$@"; }
show() { fm "$1" dossier show "$2" --json; }
ref_is() { [ "$(jfield "$(show "$1" "$2")" portal_ref)" = "$3" ]; }
live() { fm "$1" peers --json | grep -q '"state":"live"'; }

FAKE=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -e "$FAKE" ] || fail "libfaketime is not installed: run scripts/setup.sh"
start_a() {
  LD_PRELOAD=$FAKE FAKETIME_TIMESTAMP_FILE="$W/a.faketime" FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
    start a "$@"
}

fm auth authority init --commune "Tân Quang" >/dev/null
laptop a "Lò Thị Lan"
laptop b "Hoàng Văn Minh"
for x in a b; do
  printf '[sync]\nping_seconds = 1\n' >"$W/$x/fieldmeshd.conf"
done

step "a's clock 10 years ahead: a records and submits a dossier"
printf '+3650d\n' >"$W/a.faketime"
start_a
start b --peer "127.0.0.1:${PORT[a]}"
wait_for "a and b to be live" live b
D=$(fa dossier add --procedure khai_sinh --applicant-name "Lò Văn Pó" \
  --village "Nghĩa Tân" | tail -n1)
fa dossier status "$D" submitted --ref A-REF --note "nộp trên máy a" >/dev/null
ahead=$("$HLC" "$W/a")
[ "$ahead" -gt $(( $(now_ms) + YEARS_MS - 86400000 )) ] ||
  fail "a's entries are not stamped 10 years ahead ($ahead)"
wait_for "b to receive a's status" ref_is b "$D" A-REF

step "b, on the right clock, saw a's change and corrects it: b's change wins on both"
fm b dossier status "$D" submitted --ref B-REF --note "sửa trên máy b" >/dev/null
wait_for "a and b to hold the same views" same_view a b
for n in a b; do
  j=$(show "$n" "$D")
  [ "$(jfield "$j" portal_ref)" = B-REF ] ||
    fail "$n shows reference $(jfield "$j" portal_ref), b's later change is B-REF: $j"
  [ "$(jfield "$j" status_note)" = "sửa trên máy b" ] ||
    fail "$n shows the note of a's earlier change: $j"
done
fm b dossier show "$D" | grep -q "B-REF" || fail "dossier show on b does not show B-REF"

step "a's clock fixed: it says so once, and stamps the present"
stop a
printf '+0\n' >"$W/a.faketime"
start_a --peer "127.0.0.1:${PORT[b]}"
wait_for "a's log to say its last stamp is ahead" \
  log_has a "this laptop's last stamp is 3650 days ahead of its clock; new records use the clock"
t0=$(now_ms)
D2=$(fm a dossier add --procedure chung_thuc --applicant-name "Lò Thị Mai" \
  --village "Vinh Quang" 2>"$W/a.err" | tail -n1)
t1=$(now_ms)
h=$("$HLC" "$W/a")
[ "$h" -ge $((t0 - 1000)) ] && [ "$h" -le $((t1 + 1000)) ] ||
  fail "a's new dossier is stamped $(( (h - t1) / 86400000 )) days from now: the old future stuck"
grep -qF "this laptop's last stamp is 3650 days ahead of its clock; new records use the clock" \
  "$W/a.err" || fail "the CLI on a did not say its last stamp is ahead: $(cat "$W/a.err")"
fm a dossier add --procedure chung_thuc --applicant-name "Lò Thị Hoa" --village "Vinh Quang" \
  2>"$W/a.err2" >/dev/null
! grep -q "days ahead" "$W/a.err2" || fail "the CLI on a says its clock is ahead a second time"
[ "$(jfield "$(show a "$D2")" created)" = "$(today)" ] ||
  fail "a's new dossier shows created $(jfield "$(show a "$D2")" created), today is $(today)"
fm a dossier list | grep "$D2" | grep -q "$(today)" || fail "dossier list does not show today"
wait_for "b to receive a's new dossier" same_view a b
[ "$(jfield "$(show b "$D2")" created)" = "$(today)" ] || fail "b shows another day for $D2"
for n in a b; do stop "$n"; done
[ "$(count_in_log a "days ahead of its clock")" = 1 ] ||
  fail "a's log says its clock is ahead $(count_in_log a "days ahead of its clock") times, not once"
step "bundles say which release wrote them: FMBNDL4 today, another digit refused by name"
fm a bundle export -o "$W/all.bundle" >/dev/null
[ "$(head -c 8 "$W/all.bundle")" = "FMBNDL4" ] || fail "a bundle does not start FMBNDL4"
{ printf 'FMBNDL9\n'; tail -c +9 "$W/all.bundle"; } >"$W/other.bundle"
rc=0
out=$(fm b bundle import "$W/other.bundle" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "a bundle of another format version: exit $rc, not 1"
case "$out" in *"another fieldmesh release"*"install the same release"*) ;;
  *) fail "a bundle of another format version is not refused by name: $out" ;; esac
echo "$NAME: PASS"
