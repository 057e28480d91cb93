#!/usr/bin/env bash
# Small things a member or an administrator trips on, each refused or said
# plainly, with nothing written when refused:
#   - --services "a, b" is read (blank space after a comma); a service
#     listed twice is refused;
#   - --date past tomorrow, or more than a year back, is refused;
#   - --note-file FILE for long notes (visit add, dossier add, dossier
#     status); with --note too, a FIFO, or too long: refused;
#   - a folder that is not a state folder is refused, and no store/ is made
#     in it;
#   - `bundle import DIR` says it is a folder;
#   - counts read "1 entry", not "1 entries";
#   - fieldmeshd takes its folder from FIELDMESH_STATE;
#   - a misspelled config section or key stops fieldmeshd with the closest
#     known name;
#   - a dossier status that could never win (lower on the ladder) is
#     refused, nothing written; delivered then rejected is said; a final
#     status written after seeing another replaces it.
#
# usage: test_papercuts.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_papercuts.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
NAME=test_papercuts
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"

entries() { status_field a entries; }

step "a laptop"
fm auth authority init --commune "Tân Quang" >/dev/null
fm a init | tail -n1 >"$W/a.id"
fm auth enroll "$(cat "$W/a.id")" --name "Lò Thị Lan" --team "Team 1" --role member \
  --villages "Nghĩa Tân" -o "$W/a.join" >/dev/null
fm a join "$W/a.join" >/dev/null
n=$(entries)

step "--services with blank space, and twice"
fm a visit add --village "Nghĩa Tân" --mode home --citizens 2 \
  --services "account_created, eid_activated ,app_installed" >/dev/null ||
  fail "a list with blank space after the commas was refused"
fm a visit list --json | grep -q '"services":\["account_created","eid_activated","app_installed"\]' ||
  fail "the services were not all recorded: $(fm a visit list --json)"
n=$((n + 1))
refused 2 '--services lists "eid_activated" twice' fm a visit add --village "Nghĩa Tân" \
  --mode home --citizens 1 --services "eid_activated,account_created, eid_activated"
refused 2 "--services has an empty item" fm a visit add --village "Nghĩa Tân" --mode home \
  --citizens 1 --services "account_created,"
[ "$(entries)" = "$n" ] || fail "a refused visit was written"

step "--date in the future or over a year back"
future=$(date -u -d '+3 days' +%F)
refused 2 "is in the future" fm a visit add --village "Nghĩa Tân" --mode home --citizens 1 \
  --services account_created --date "$future"
old=$(date -u -d '-400 days' +%F)
refused 2 "more than a year ago" fm a visit add --village "Nghĩa Tân" --mode home --citizens 1 \
  --services account_created --date "$old"
fm a visit add --village "Nghĩa Tân" --mode home --citizens 1 --services account_created \
  --date "$(date -u -d '-300 days' +%F)" >/dev/null || fail "a visit 300 days back was refused"
n=$((n + 1))
[ "$(entries)" = "$n" ] || fail "a refused visit was written"

step "--note-file"
printf 'Bà cụ 80 tuổi, không đi lại được.\nHẹn lần sau mang giấy tờ.\n' >"$W/note.txt"
fm a visit add --village "Nghĩa Tân" --mode home --citizens 1 --services account_created \
  --note-file "$W/note.txt" >/dev/null || fail "visit add --note-file"
fm a visit list --json | grep -qF '"note":"Bà cụ 80 tuổi, không đi lại được.\nHẹn lần sau mang giấy tờ."' ||
  fail "the note from the file was not recorded whole: $(fm a visit list --json)"
id=$(fm a dossier add --procedure chung_thuc --village "Nghĩa Tân" --applicant-name "Lò Văn Sinh" \
  --note-file "$W/note.txt" | tail -n1)
fm a dossier show "$id" --json | grep -qF 'Hẹn lần sau mang giấy tờ.' || fail "dossier add --note-file"
fm a dossier status "$id" submitted --note-file "$W/note.txt" >/dev/null ||
  fail "dossier status --note-file"
n=$((n + 3))
refused 2 "give --note or --note-file, not both" fm a visit add --village "Nghĩa Tân" \
  --mode home --citizens 1 --services account_created --note x --note-file "$W/note.txt"
mkfifo "$W/fifo"
refused 2 "is not a regular file" timeout 5 "$FM" --state "$W/a" visit add \
  --village "Nghĩa Tân" --mode home --citizens 1 --services account_created --note-file "$W/fifo"
head -c 3000 /dev/zero | tr '\0' 'x' >"$W/long.txt"
refused 2 "is over 2000 bytes" fm a visit add --village "Nghĩa Tân" --mode home --citizens 1 \
  --services account_created --note-file "$W/long.txt"
refused 2 "cannot be read: no such file" fm a dossier status "$id" processing \
  --note-file "$W/none.txt"
[ "$(entries)" = "$n" ] || fail "a refused record was written"

step "a folder that is not a state folder"
mkdir "$W/photos"
refused 1 "is not a fieldmesh state folder" fm photos status
[ -z "$(ls -A "$W/photos")" ] || fail "status wrote into a folder that is not ours: $(ls "$W/photos")"

step "bundle import of a folder"
refused 1 "is a folder: give the path of the bundle file in it" fm a bundle import "$W/photos"

step "plurals"
[ "$(fm a verify)" = "verify: ok ($n entries, 1 author)" ] || fail "verify: $(fm a verify)"
[ "$(fm auth verify)" = "verify: ok (1 entry, 1 author)" ] || fail "verify: $(fm auth verify)"

step "fieldmeshd with FIELDMESH_STATE"
rc=0
FIELDMESH_STATE="$W/a" "$FMD" --listen off >"$W/env.log" 2>&1 &
pid=$!
PID[env]=$pid
wait_for "fieldmeshd to start on FIELDMESH_STATE" log_has env "fieldmeshd started"
fm a status --json | grep -q '"daemon":{"running":true' ||
  fail "the daemon started from FIELDMESH_STATE does not answer: $(fm a status --json)"
kill -TERM "$pid"
wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "fieldmeshd exited $rc"
unset 'PID[env]'

step "a misspelled config section or key"
printf '[node]\nlisten = off\n\n[upsteam]\nspool = %s/spool\n' "$W" >"$W/bad1.conf"
refused 2 'unknown section [upsteam]: did you mean [upstream]?' "$FMD" --state "$W/a" \
  --config "$W/bad1.conf"
printf '[node]\nlistn = off\n' >"$W/bad2.conf"
refused 2 'unknown key "listn" in [node]: did you mean "listen"?' "$FMD" --state "$W/a" \
  --config "$W/bad2.conf"
printf '[sync]\nfrobnicate = 1\n' >"$W/bad3.conf"
refused 2 'unknown key "frobnicate" in [sync]: remove it' "$FMD" --state "$W/a" \
  --config "$W/bad3.conf"
step "a status that could never win is refused; one of the same rank replaces"
d=$(fm a dossier add --procedure khai_sinh --applicant-name "Lò Văn Pắng" \
  --village "Nghĩa Tân" | tail -n1)
fm a dossier status "$d" processing >/dev/null
n=$(entries)
refused 1 'is already processing; "draft" ranks lower' fm a dossier status "$d" draft
refused 1 "nothing was written" fm a dossier status "$d" submitted
[ "$(entries)" = "$n" ] || fail "a status that can never win was written"
fm a dossier status "$d" delivered >/dev/null
fm a dossier status "$d" rejected 2>"$W/err" >/dev/null || fail "delivered -> rejected refused"
grep -q "was delivered; marking it rejected" "$W/err" || fail "no word on delivered -> rejected"
fm a dossier status "$d" withdrawn >/dev/null || fail "withdrawn after seeing rejected was refused"
fm a dossier show "$d" | grep -q withdrawn || fail "withdrawn did not replace rejected"
fm a dossier status "$d" rejected --note "thiếu giấy tờ" >/dev/null ||
  fail "the same final status with a note was refused"
echo "$NAME: ok"
