#!/usr/bin/env bash
# End to end through the `fieldmesh` command: a commune authority, two team
# laptops carrying bundles both ways, damaged and foreign bundles refused
# whole, bad input refused with one line naming the field, and a revoked
# laptop's later entries quarantined.
#
# usage: test_cli_e2e.sh BIN_DIR      (the folder holding `fieldmesh`)
set -euo pipefail

BIN=${1:?usage: test_cli_e2e.sh BIN_DIR}
FM="$BIN/fieldmesh"
[ -x "$FM" ] || { echo "test_cli_e2e: $FM is not built" >&2; exit 1; }

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# Fixed times: 2023-11-08 08:00 UTC (a Wednesday), one second per command.
# The counter lives in a file so that calls inside $(...) advance it too.
echo 1699430400000 >"$W/now"

fail() { echo "test_cli_e2e: FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

# fm STATE ARGS...: runs fieldmesh on the state folder $W/STATE.
fm() {
  local now
  now=$(( $(cat "$W/now") + 1000 ))
  echo "$now" >"$W/now"
  FIELDMESH_NOW=$now "$FM" --state "$W/$1" "${@:2}"
}

# jfield JSON KEY: the value of KEY in a one-line JSON object (quotes dropped).
jfield() {
  printf '%s\n' "$1" | sed -n 's/.*"'"$2"'":\("[^"]*"\|[^,}]*\).*/\1/p' | tr -d '"'
}

status_field() { jfield "$(fm "$1" status --json)" "$2"; }

# expect_refused WORD STATE ARGS...: the command fails with exactly one line
# on stderr, and that line contains WORD.
expect_refused() {
  local word=$1 err rc=0
  shift
  err=$(fm "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" -ne 0 ] || fail "\`fieldmesh ${*:2}\` succeeded; expected a refusal naming $word"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "expected one line of error, got: $err"
  case "$err" in
    *"$word"*) ;;
    *) fail "the error does not name $word: $err" ;;
  esac
  echo "refused as expected (exit $rc): $err"
}

flip_middle_byte() {
  local size
  size=$(stat -c %s "$1")
  printf '\x5a' | dd of="$1" bs=1 seek=$((size / 2)) conv=notrunc status=none
  cmp -s "$1" "$2" && fail "flipping a byte changed nothing"
  return 0
}

step "authority and two laptops"
fm auth authority init --commune "Tân Quang" >/dev/null
ID1=$(fm lap1 init | tail -n1)
ID2=$(fm lap2 init | tail -n1)
[ ${#ID1} -eq 64 ] && [ ${#ID2} -eq 64 ] || fail "init did not print 64-digit ids"
expect_refused "already exists" lap1 init
fm auth enroll "$ID1" --name "Lò Thị Lan" --team "Team 1" --role member \
  --villages "Nghĩa Tân,Vinh Quang" -o "$W/lap1.join"
fm auth enroll "$ID2" --name "Hoàng Văn Minh" --team "Team 2" --role member \
  --villages "Xuân Hòa,Tân Lâm" -o "$W/lap2.join"
expect_refused "not this laptop" lap1 join "$W/lap2.join"
fm lap1 join "$W/lap1.join"
fm lap2 join "$W/lap2.join"
[ "$(status_field lap1 enrolled)" = true ] || fail "lap1 is not enrolled after join"
[ "$(status_field lap2 team)" = "Team 2" ] || fail "lap2's team is not Team 2"

step "visits and dossiers on both laptops"
fm lap1 visit add --village "Nghĩa Tân" --mode home --services account_created,eid_activated \
  --citizens 3 --place "nhà ông Sùng A Chứ" >/dev/null
fm lap1 visit add --village "Vinh Quang" --mode village_point \
  --services dossier_submitted,payment_guided --citizens 12 --date 2023-11-06 >/dev/null
D1=$(fm lap1 dossier add --procedure chung_thuc --applicant-name "Sùng A Páo" \
  --applicant-id 002085001234 --phone "0912 345 678" --village "Vinh Quang" | tail -n1)
D2=$(fm lap1 dossier add --procedure khai_sinh --applicant-name "Vàng Thị Mai" \
  --village "Nghĩa Tân" | tail -n1)
fm lap1 dossier status "$D1" submitted --ref "000.00.23.H21-231108-0001" >/dev/null
fm lap1 dossier show "${D1:0:10}" | grep -q "Sùng A Páo" || fail "dossier show by prefix"
V3=$(fm lap2 visit add --village "Xuân Hòa" --mode home --services app_installed --citizens 2 | tail -n1)
fm lap2 visit add --village "Tân Lâm" --mode one_stop --services account_created --citizens 4 >/dev/null
D3=$(fm lap2 dossier add --procedure gia_dinh_van_hoa --applicant-name "Hộ Lý Văn Sinh" \
  --village "Tân Lâm" --channel one_stop | tail -n1)
fm lap2 dossier status "$D3" delivered >/dev/null
fm lap2 visit void "$V3" --reason "ghi nhầm" >/dev/null
case "$D1$D2$D3" in D-*D-*D-*) ;; *) fail "dossier ids: $D1 $D2 $D3" ;; esac

step "bundles both ways"
fm auth bundle export -o "$W/auth.bundle" >/dev/null
fm lap1 bundle import "$W/auth.bundle"
fm lap2 bundle import "$W/auth.bundle"
fm lap2 vector export -o "$W/lap2.vec"
fm lap1 bundle export --for "$W/lap2.vec" -o "$W/lap1-to-lap2.bundle"
fm lap2 bundle import "$W/lap1-to-lap2.bundle"
fm lap1 vector export -o "$W/lap1.vec"
fm lap2 bundle export --for "$W/lap1.vec" -o "$W/lap2-to-lap1.bundle"
fm lap1 bundle import "$W/lap2-to-lap1.bundle"

S1=$(fm lap1 status --json)
S2=$(fm lap2 status --json)
DIG1=$(jfield "$S1" view_digest)
DIG2=$(jfield "$S2" view_digest)
[ ${#DIG1} -eq 64 ] || fail "no view_digest in: $S1"
[ "$DIG1" = "$DIG2" ] || fail "view digests differ: $DIG1 vs $DIG2"
ENTRIES=$(jfield "$S1" entries)
[ "$ENTRIES" = "$(jfield "$S2" entries)" ] || fail "entry counts differ"
# 2 enrollments + lap1: 2 visits, 2 dossiers, 1 status + lap2: 2 visits,
# 1 dossier, 1 status, 1 void.
[ "$ENTRIES" -eq 12 ] || fail "expected 12 entries, got $ENTRIES"
[ "$(jfield "$S1" visits)" -eq 4 ] || fail "expected 4 visits: $S1"
[ "$(jfield "$S2" dossiers)" -eq 3 ] || fail "expected 3 dossiers: $S2"
echo "both laptops: $ENTRIES entries, view digest $DIG1"
fm lap1 report --by village
fm lap2 report --by procedure --format csv | grep -q '^gia_dinh_van_hoa,' ||
  fail "report by procedure lacks gia_dinh_van_hoa"
REP=$(fm lap2 report --by team --json)
case "$REP" in
  *'"team":"Team 1","visits":2,"citizens":15,"dossiers":2,"submitted":1,"delivered":0'*) ;;
  *) fail "team report for Team 1 is wrong: $REP" ;;
esac
case "$REP" in
  *'"team":"Team 2","visits":1,"citizens":4,"dossiers":1,"submitted":1,"delivered":1'*) ;;
  *) fail "team report for Team 2 is wrong (voided visit counted?): $REP" ;;
esac

step "lists and their filters"
L=$(fm lap1 visit list)
printf '%s\n' "$L"
[ "$(printf '%s\n' "$L" | tail -n +2 | wc -l)" -eq 4 ] || fail "visit list: expected 4 rows"
printf '%s\n' "$L" | grep "Xuân Hòa" | grep -q voided || fail "the voided visit is not marked"
[ "$(fm lap1 visit list --village "Tân Lâm" | tail -n +2 | wc -l)" -eq 1 ] ||
  fail "visit list --village Tân Lâm: expected 1 row"
fm lap1 visit list --village "Tân" | grep -q '^no visits in Tân$' ||
  fail "a village is matched whole, not by prefix"
J=$(fm lap1 visit list --json --village "Nghĩa Tân")
case "$J" in '[{"id":"V-'*'"village":"Nghĩa Tân"'*'}]') ;; *) fail "visit list --json: $J" ;; esac
fm lap1 dossier list --status delivered | grep -q "$D3" || fail "dossier list --status delivered"
[ "$(fm lap1 dossier list --status submitted | tail -n +2 | wc -l)" -eq 1 ] ||
  fail "dossier list --status submitted: expected 1 row"
[ "$(fm lap1 dossier list --village "Nghĩa Tân" --status submitted)" = "no dossiers" ] ||
  fail "filters on village and status together"
[ "$(fm lap2 dossier list --json | grep -o '"id":"D-' | wc -l)" -eq 3 ] ||
  fail "dossier list --json on lap2: expected 3 dossiers"
expect_refused "--status" lap1 dossier list --status finished

step "verify on both"
fm lap1 verify | grep -q '^verify: ok (12 entries, 3 authors)$' || fail "verify lap1"
fm lap2 verify | grep -q '^verify: ok' || fail "verify lap2"
fm lap2 verify --repair --json | grep -q '"ok":true,.*"repaired":false' ||
  fail "verify --repair rebuilt something on a sound store"

step "a damaged and a truncated bundle are refused whole"
fm lap1 bundle export -o "$W/full.bundle" >/dev/null
cp "$W/full.bundle" "$W/flipped.bundle"
flip_middle_byte "$W/flipped.bundle" "$W/full.bundle"
head -c $(( $(stat -c %s "$W/full.bundle") / 2 )) "$W/full.bundle" >"$W/truncated.bundle"
# A fresh laptop of the same commune: it lacks everything, so only the
# container check can stop the import.
ID4=$(fm lap4 init | tail -n1)
fm auth enroll "$ID4" --name "Đặng Thị Hoa" --team "Team 1" --role leader -o "$W/lap4.join" >/dev/null
fm lap4 join "$W/lap4.join" >/dev/null
BEFORE=$(status_field lap4 entries)
expect_refused "damaged" lap4 bundle import "$W/flipped.bundle"
expect_refused "truncated" lap4 bundle import "$W/truncated.bundle"
[ "$(status_field lap4 entries)" = "$BEFORE" ] || fail "a refused bundle changed lap4"
fm lap4 bundle import "$W/full.bundle" | grep -q "accepted 12" || fail "the intact bundle"

step "a bundle from another commune is refused"
fm auth2 authority init --commune "Hòa Phước" >/dev/null
ID3=$(fm lap3 init | tail -n1)
fm auth2 enroll "$ID3" --name "Trần Văn Nam" --team "Tổ 1" --role member \
  --villages "Trà Kiểm" -o "$W/lap3.join" >/dev/null
fm lap3 join "$W/lap3.join" >/dev/null
fm lap3 visit add --village "Trà Kiểm" --mode village_point --services account_created \
  --citizens 1 >/dev/null
fm lap3 bundle export -o "$W/lap3.bundle" >/dev/null
BEFORE=$(status_field lap1 entries)
expect_refused "another commune" lap1 bundle import "$W/lap3.bundle"
[ "$(status_field lap1 entries)" = "$BEFORE" ] || fail "a foreign bundle changed lap1"

step "bad input: one line naming the field"
expect_refused "--village" lap1 visit add --mode home --services account_created --citizens 1
expect_refused "--mode" lap1 visit add --village "Nghĩa Tân" --mode boat \
  --services account_created --citizens 1
expect_refused "--citizens" lap1 visit add --village "Nghĩa Tân" --mode home \
  --services account_created --citizens abc
expect_refused "--services" lap1 visit add --village "Nghĩa Tân" --mode home \
  --services teleport --citizens 1
expect_refused "STATUS" lap1 dossier status "$D1" finished
expect_refused "--procedure" lap1 dossier add --procedure passport \
  --applicant-name "Sùng A Páo" --village "Vinh Quang"
expect_refused "--date" lap1 visit add --village "Nghĩa Tân" --mode home \
  --services account_created --citizens 1 --date 2023-02-30
expect_refused "--role" auth enroll "$ID4" --name X --team Y --role chief -o "$W/x.join"
expect_refused "unknown option" lap1 status --colour
[ "$(status_field lap1 entries)" = "$BEFORE" ] || fail "bad input changed lap1"
fm lap1 visit add --help | grep -q '^usage: fieldmesh visit add' || fail "visit add --help"

step "a revoked laptop's later entries are quarantined"
SEQ2=$(status_field lap2 self_seq)
fm auth revoke "$ID2" --after-seq "$SEQ2"
# lap2 has not heard of it yet and goes on recording.
fm lap2 visit add --village "Xuân Hòa" --mode home --services account_created --citizens 1 >/dev/null
fm lap2 dossier add --procedure khai_tu --applicant-name "Lý Văn Tả" --village "Tân Lâm" >/dev/null
fm auth bundle export -o "$W/auth2.bundle" >/dev/null
fm lap1 bundle import "$W/auth2.bundle"
[ "$(status_field lap1 revoked)" = false ] || fail "lap1 shows itself revoked"
VISITS=$(status_field lap1 visits)
fm lap1 vector export -o "$W/lap1b.vec" >/dev/null
fm lap2 bundle export --for "$W/lap1b.vec" -o "$W/lap2-late.bundle" >/dev/null
OUT=$(fm lap1 bundle import --json "$W/lap2-late.bundle")
echo "$OUT"
# Neither later entry may be applied: both are kept as evidence.
[ "$(jfield "$OUT" accepted)" -eq 0 ] || fail "a revoked laptop's entry was accepted: $OUT"
[ "$(jfield "$OUT" quarantined)" -eq 2 ] || fail "expected both later entries quarantined: $OUT"
[ "$(status_field lap1 quarantined)" -ge 1 ] || fail "lap1 status does not count the quarantined entry"
[ "$(status_field lap1 visits)" = "$VISITS" ] || fail "a revoked entry reached lap1's views"
fm lap1 verify | grep -q '^verify: ok' || fail "verify lap1 after the revocation"

# The other order: lap4 takes lap2's later entries first, then hears of the
# revocation, which takes them back out of its log and views.
VISITS4=$(status_field lap4 visits)
fm lap4 bundle import "$W/lap2-late.bundle" | grep -q "accepted 2" ||
  fail "lap4 should accept lap2's entries before it knows of the revocation"
[ "$(status_field lap4 visits)" -eq $((VISITS4 + 1)) ] || fail "lap4 did not apply lap2's visit"
fm lap4 bundle import "$W/auth2.bundle" >/dev/null
[ "$(status_field lap4 quarantined)" -eq 2 ] || fail "lap4 did not quarantine lap2's 2 later entries"
[ "$(status_field lap4 visits)" -eq "$VISITS4" ] || fail "lap2's revoked visit is still in lap4's views"
fm lap4 verify | grep -q '^verify: ok' || fail "verify lap4 after the revocation"

echo "test_cli_e2e: all passed"
