#!/usr/bin/env bash
# Retention by forgetting keys (docs/privacy.md, P4): `[privacy]
# keep_months = 1` on a Team 1 laptop, the clock moved by FIELDMESH_NOW.
#   - the laptop publishes its month (inbox) keys before it seals, and the
#     grants to it wrap to them: its own grant, and a teammate's;
#   - once the month is more than keep_months old, its inbox secret is
#     gone from the state folder, and that laptop shows the citizen's name,
#     identity number and phone as "(sealed: Team 1)" (its scan does not
#     open either), nothing in its state folder holds them, while the
#     gateway (which ignores keep_months) and a teammate without
#     keep_months still read them; the log is the same everywhere;
#   - a record of the new month reads on the forgetting laptop;
#   - the daemon forgets at start (its clock in March 2024 by libfaketime)
#     and publishes the keys of March and April;
#   - the gateway's daemon ignores keep_months, says so and makes no keys;
#   - a bad keep_months is refused in one line by a command that writes,
#     warned of by one that reads.
#
# usage: test_keep_months.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_keep_months.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
NAME=test_keep_months
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
[ -x "$FM" ] || fail "$FM is not built"

T0=1699430400000 # 2023-11-08
LATER=$((T0 + 70 * 86400000)) # 2024-01-17: November is over a month old
export FIELDMESH_NOW=$T0
CCCD=002190012345
PHONE=0912345678
CITIZEN="Vàng Thị Mỷ"

digest() { status_field "$1" view_digest; }

step "a commune: Lan and Tuấn (Team 1, keep_months = 1), Minh (Team 1), the gateway"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop lan "Lò Thị Lan" "Team 1" member
laptop tuan "Lý Văn Tuấn" "Team 1" member
laptop minh "Hoàng Văn Minh" "Team 1" leader
laptop gw "Cổng xã" "Commune hall" gateway
for s in lan tuan minh gw; do carry auth "$s" >/dev/null; done
printf '[privacy]\nseal = yes\nkeep_months = 1\n' >"$W/lan/fieldmeshd.conf"
printf '[privacy]\nseal = yes\nkeep_months = 1\n' >"$W/tuan/fieldmeshd.conf"
printf '[privacy]\nkeep_months = 1\n' >"$W/gw/fieldmeshd.conf"

step "Tuấn writes first: his month keys are published; they reach Lan"
fm tuan dossier add --procedure khai_sinh --applicant-name "Lý Thị Ba" --village "Nghĩa Tân" \
  >/dev/null 2>&1
[ -f "$W/tuan/inbox/2023-11" ] && [ -f "$W/tuan/inbox/2023-12" ] ||
  fail "no inbox secrets for this month and the next: $(ls "$W/tuan/inbox" 2>&1)"
[ "$(stat -c %a "$W/tuan/inbox/2023-11")" = 600 ] || fail "an inbox secret is not 0600"
[ "$(stat -c %a "$W/tuan/inbox")" = 700 ] || fail "the inbox folder is not 0700"
carry tuan lan >/dev/null

step "Lan records a citizen in November 2023; it travels to Tuấn, Minh and the gateway"
fm lan dossier add --procedure khai_sinh --applicant-name "$CITIZEN" --applicant-id $CCCD \
  --phone $PHONE --village "Nghĩa Tân" --note "hộ nghèo" 2>/dev/null | tail -n1 >"$W/d1"
D1=$(cat "$W/d1")
head -c 3000 /dev/urandom >"$W/scan.jpg"
fm lan dossier attach "$D1" "$W/scan.jpg" --kind id_card >/dev/null
for s in tuan minh gw; do carry lan "$s" >/dev/null; done
for s in lan tuan minh gw; do
  [ "$(field $s "$D1" name)" = "$CITIZEN" ] || fail "$s does not read the name in November"
  [ "$(field $s "$D1" id_number)" = $CCCD ] || fail "$s does not read the id number in November"
done
fm lan dossier attachment get "$D1" 1 -o "$W/lan-scan.jpg" >/dev/null
cmp -s "$W/scan.jpg" "$W/lan-scan.jpg" || fail "Lan does not read her scan in November"
want=$(digest lan)

step "January 2024: Lan and Tuấn forget November; the gateway and Minh keep it"
export FIELDMESH_NOW=$LATER
for s in lan tuan; do
  out=$(fm $s dossier show "$D1") || fail "dossier show fails on $s after forgetting"
  for k in name id_number phone note; do
    [ "$(field $s "$D1" $k)" = "(sealed: Team 1)" ] ||
      fail "$s still reads $k after keep_months: $(field $s "$D1" $k)"
  done
  echo "$out" | grep -qF "$CITIZEN" && fail "$s's dossier show still names the citizen"
  [ -e "$W/$s/inbox/2023-11" ] && fail "$s still holds November's inbox secret"
  [ -e "$W/$s/inbox/2023-12" ] || fail "$s forgot December, within keep_months"
  for secret in $CCCD $PHONE "$CITIZEN"; do
    if grep -raqF -- "$secret" "$W/$s"; then fail "$s's state folder holds \"$secret\""; fi
  done
  [ "$(digest $s)" = "$want" ] || fail "$s's view changed: nothing in the log is rewritten"
  fm $s verify >/dev/null || fail "verify fails on $s"
done
refused 1 "is sealed" fm lan dossier attachment get "$D1" 1 -o "$W/lan-scan2.jpg" >/dev/null
[ -e "$W/lan-scan2.jpg" ] && fail "Lan still opens the scan after forgetting"
fm gw dossier show "$D1" 2>"$W/gw.err" >/dev/null
grep -q "keep_months is ignored on a gateway" "$W/gw.err" || fail "the gateway does not say it ignores keep_months"
for s in gw minh; do
  [ "$(field $s "$D1" name)" = "$CITIZEN" ] 2>/dev/null || fail "$s lost the name"
  [ "$(field $s "$D1" id_number)" = $CCCD ] 2>/dev/null || fail "$s lost the id number"
  [ "$(field $s "$D1" phone)" = $PHONE ] 2>/dev/null || fail "$s lost the phone"
done

step "a record of January reads on Lan, under a January key"
fm lan dossier add --procedure khai_sinh --applicant-name "Lý Văn Sáng" --applicant-id 002190099999 \
  --village "Nghĩa Tân" 2>/dev/null | tail -n1 >"$W/d2"
[ "$(field lan "$(cat "$W/d2")" id_number)" = 002190099999 ] || fail "Lan does not read January's record"
[ -f "$W/lan/inbox/2024-02" ] || fail "no inbox secret ahead for February"

step "March 2024: Tuấn's daemon forgets December at start and publishes March and April"
FAKE=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -e "$FAKE" ] || fail "libfaketime is not installed: run scripts/setup.sh"
printf '@2024-03-05 12:00:00\n' >"$W/tuan.faketime"
before=$(status_field tuan entries)
LD_PRELOAD=$FAKE FAKETIME_TIMESTAMP_FILE="$W/tuan.faketime" FAKETIME_NO_CACHE=1 \
  FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
  start tuan
wait_for "Tuấn's daemon publishes its month keys" \
  log_has tuan "published this laptop's month keys for 2024-03 and 2024-04"
log_has tuan "forgot the keys of 1 month before 2024-02" || fail "the daemon did not forget December"
stop tuan
[ -e "$W/tuan/inbox/2023-12" ] && fail "Tuấn's daemon left December's inbox secret"
[ -f "$W/tuan/inbox/2024-03" ] && [ -f "$W/tuan/inbox/2024-04" ] ||
  fail "no inbox secrets for March and April: $(ls "$W/tuan/inbox")"
[ "$(status_field tuan entries)" = $((before + 1)) ] || fail "no seal.inbox entry was written"

step "the gateway's daemon ignores keep_months and says so"
start gw
wait_for "the gateway's daemon says keep_months is ignored" \
  log_has gw "keep_months is ignored on a gateway"
stop gw
[ -e "$W/gw/inbox" ] && fail "the gateway made inbox keys"
[ "$(field gw "$D1" id_number)" = $CCCD ] 2>/dev/null || fail "the gateway lost the id number"

step "a bad keep_months is refused"
printf '[privacy]\nseal = yes\nkeep_months = 0\n' >"$W/lan/fieldmeshd.conf"
refused 2 "keep_months" fm lan dossier add --procedure khai_sinh --applicant-name "X" --village "Nghĩa Tân"
fm lan dossier show "$D1" >/dev/null 2>"$W/err" || fail "a command that only reads fails on it"
grep -q "nothing is forgotten until it is fixed" "$W/err" || fail "no warning when reading: $(cat "$W/err")"
echo "ok"
