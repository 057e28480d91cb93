#!/usr/bin/env bash
# The reports a commune files (docs/cli.md, `fieldmesh report`), on a known
# data set whose figures are worked out by hand below: by service, place,
# day, week and member; dossiers split by outcome; --from/--to by day;
# --status; --excel's byte order mark.
#
# usage: test_report.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_report.sh BIN_DIR}
FM="$BIN/fieldmesh"
NAME=test_report
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"

# csv ARGS...: the report's CSV without the header and the CR.
csv() { fm a report --format csv "$@" | tr -d '\r' | tail -n +2; }
same() { [ "$1" = "$2" ] || fail "$3: got
$1
expected
$2"; }

D0=$(TZ=Asia/Ho_Chi_Minh date +%F)
D1=$(TZ=Asia/Ho_Chi_Minh date -d "$D0 -1 day" +%F)
WEEK0=$(date -d "$D0" +%G-W%V)
WEEK1=$(date -d "$D1" +%G-W%V)

step "a laptop, three visits (one voided) and three dossiers"
fm auth authority init --commune "Tân Quang" >/dev/null
fm a init | tail -n1 >"$W/a.id"
fm auth enroll "$(cat "$W/a.id")" --name "Lò Thị Lan" --team "Team 1" --role member \
  --villages "Nghĩa Tân" -o "$W/a.join" >/dev/null
fm a join "$W/a.join" >/dev/null
visit() { fm a visit add --village "Nghĩa Tân" --mode village_point "$@" | tail -n1; }
visit --date "$D0" --place "Trà Kiểm" --services account_created,eid_activated --citizens 3 >/dev/null
visit --date "$D1" --place "Miếu Bông" --services account_created --citizens 2 >/dev/null
v3=$(visit --date "$D1" --place "Trà Kiểm" --services app_installed --citizens 1)
fm a visit void "$v3" --reason "ghi nhầm" >/dev/null
dossier() { fm a dossier add --procedure khai_sinh --applicant-name "$1" --village "Nghĩa Tân" | tail -n1; }
d1=$(dossier "Công dân một")
d2=$(dossier "Công dân hai")
d3=$(dossier "Công dân ba")
fm a dossier status "$d1" submitted >/dev/null
fm a dossier status "$d2" submitted >/dev/null
fm a dossier status "$d2" rejected >/dev/null
fm a dossier status "$d3" withdrawn >/dev/null

step "by service and by place: visits only, the voided one left out"
same "$(csv --by service)" "account_created,2,5
eid_activated,1,3" "by service"
same "$(csv --by place)" "Miếu Bông,1,2
Trà Kiểm,1,3" "by place"
[ "$(fm a report --by service --format csv | head -n1 | tr -d '\r')" = "service,visits,citizens" ] ||
  fail "by service shows dossier columns"

step "by day, week and member: dossiers split by outcome"
same "$(csv --by day)" "$D1,1,2,0,0,0,0,0
$D0,1,3,3,2,0,1,1" "by day"
if [ "$WEEK0" = "$WEEK1" ]; then
  same "$(csv --by week)" "$WEEK0,2,5,3,2,0,1,1" "by week"
else
  same "$(csv --by week)" "$WEEK1,1,2,0,0,0,0,0
$WEEK0,1,3,3,2,0,1,1" "by week"
fi
same "$(csv --by member)" "Lò Thị Lan,2,5,3,2,0,1,1" "by member"

step "--from/--to a day, --status, --excel"
same "$(csv --by village --from "$D0" --to "$D0")" "Nghĩa Tân,1,3,3,2,0,1,1" "one day"
same "$(csv --by village --status rejected)" "Nghĩa Tân,1,1,0,1,0" "rejected only"
[ "$(fm a report --by village --excel | head -c 3 | od -An -tx1 | tr -d ' ')" = efbbbf ] ||
  fail "--excel does not start with a byte order mark"
rc=0
fm a report --by service --procedure khai_sinh >/dev/null 2>"$W/err" || rc=$?
[ "$rc" = 2 ] && grep -q "counts visits only" "$W/err" || fail "--by service --procedure: $(cat "$W/err")"
rc=0
fm a report --by village --from 2026-13 >/dev/null 2>"$W/err" || rc=$?
[ "$rc" = 2 ] || fail "a bad --from was taken"
echo "$NAME: ok"
