#!/usr/bin/env bash
# Corrections with a trail, end to end through `fieldmesh` on real stores
# carried between by bundles:
#   - `dossier status` refuses a status lower on the ladder, naming the
#     current one and `dossier correct`;
#   - a member may not correct (refused on her laptop, nothing written);
#   - a leader corrects a `delivered` marked by mistake back to
#     `processing` with a reason, and every laptop shows the same status,
#     reason and view digest, whatever order the bundles came in;
#   - a status written without seeing the correction does not undo it, one
#     written after seeing it climbs the ladder again;
#   - the commune hall's officer (a new role) corrects any team's dossier.
#
# usage: test_corrections.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_corrections.sh BIN_DIR}
FM="$BIN/fieldmesh"
NAME=test_corrections
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
[ -x "$FM" ] || fail "$FM is not built"

T0=1699430400000
export FIELDMESH_NOW=$T0

show() { fm "$1" --json dossier show "$2"; }
entries() { status_field "$1" entries; }

step "a commune: two members of teams 1 and 2, a leader of team 1, the officer"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop lan "Lò Thị Lan" "Team 1" member
laptop mai "Hà Thị Mai" "Team 2" member
laptop minh "Hoàng Văn Minh" "Team 1" leader
laptop hoa "Nguyễn Thị Hoa" "Xã" officer
for s in lan mai minh hoa; do carry auth "$s"; done

step "lan records a dossier and marks it delivered by mistake"
D=$(fm lan dossier add --procedure khai_sinh --applicant-name "Lò Văn Pó" \
  --village "Nghĩa Tân" | tail -n1 | grep -o 'D-[0-9A-Z]*' | head -n1)
[ -n "$D" ] || fail "no dossier id"
FIELDMESH_NOW=$((T0 + 1000)) fm lan dossier status "$D" submitted --ref "PA-1" >/dev/null
FIELDMESH_NOW=$((T0 + 2000)) fm lan dossier status "$D" delivered >/dev/null
refused 1 "dossier correct" fm lan dossier status "$D" processing
n=$(entries lan)
refused 1 "leader" fm lan dossier correct "$D" --status processing --reason "nhầm"
[ "$(entries lan)" = "$n" ] || fail "a refused correction wrote an entry"
refused 2 "--reason" fm minh dossier correct "$D" --status processing

step "minh, the leader, corrects it to processing with a reason"
carry lan minh
out=$(FIELDMESH_NOW=$((T0 + 3000)) fm minh dossier correct "$D" --status processing \
  --reason "chưa trả kết quả cho dân")
echo "$out"
case "$out" in *"delivered -> processing"*) ;; *) fail "correct said: $out" ;; esac
refused 1 "nothing to correct" fm minh dossier correct "$D" --status processing --reason "x"
# lan, not having seen the correction, marks it withdrawn (final, above
# delivered): that status was not written on the correction and, however
# high on the ladder, does not undo it.
FIELDMESH_NOW=$((T0 + 4000)) fm lan dossier status "$D" withdrawn 2>/dev/null >/dev/null
carry minh hoa
carry lan hoa
carry hoa lan
carry hoa minh
carry hoa mai
for s in lan mai minh hoa; do
  j=$(show "$s" "$D")
  [ "$(jfield "$j" status)" = processing ] || fail "$s shows $(jfield "$j" status): $j"
  [ "$(jfield "$j" status_note)" = "chưa trả kết quả cho dân" ] || fail "$s lost the reason: $j"
done
d=$(status_field lan view_digest)
for s in mai minh hoa; do
  [ "$(status_field "$s" view_digest)" = "$d" ] || fail "$s's views differ from lan's"
done
echo "every laptop shows processing, with the reason; one view digest $d"

step "the trail: every change with the member's name and team, time, reason"
fm mai dossier show "$D"
tl=$(fm mai dossier show "$D")
for want in "Hoàng Văn Minh (Team 1), corrected status delivered -> processing — chưa trả kết quả cho dân" \
  "Lò Thị Lan (Team 1), created" "status submitted -> delivered" "created" \
  "did not win: status stays processing" "by Lò Thị Lan (Team 1)"; do
  printf '%s\n' "$tl" | grep -qF -- "$want" || fail "the timeline lacks \"$want\""
done
if printf '%s\n' "$tl" | grep -Eq '[0-9a-f]{12}…'; then fail "a device id is shown: $tl"; fi
t0=$(fm lan --json dossier show "$D" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["timeline"]))')
for s in mai minh hoa; do
  t=$(fm "$s" --json dossier show "$D" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["timeline"]))')
  [ "$t" = "$t0" ] || fail "$s's timeline differs from lan's: $t / $t0"
done
printf '%s\n' "$t0" | python3 -c '
import json, sys
tl = json.load(sys.stdin)
c = [r for r in tl if r["kind"] == "dossier.correct"]
assert len(c) == 1 and c[0]["name"] == "Hoàng Văn Minh" and c[0]["team"] == "Team 1", c
assert c[0]["reason"] == "chưa trả kết quả cho dân", c
assert c[0]["at"] == "2023-11-08 15:00", c' || fail "the JSON timeline is wrong: $t0"
echo "the same timeline on every laptop, names not ids"

step "a status written after seeing the correction climbs the ladder again"
FIELDMESH_NOW=$((T0 + 5000)) fm lan dossier status "$D" result_ready --note "đã có kết quả" \
  >/dev/null
[ "$(jfield "$(show lan "$D")" status)" = result_ready ] || fail "lan's result_ready lost"
carry lan minh
[ "$(jfield "$(show minh "$D")" status)" = result_ready ] || fail "minh does not follow"

step "the officer corrects a team 2 dossier"
D2=$(fm mai dossier add --procedure khai_sinh --applicant-name "Hà Văn Dũng" \
  --village "Vinh Quang" | tail -n1 | grep -o 'D-[0-9A-Z]*' | head -n1)
FIELDMESH_NOW=$((T0 + 6000)) fm mai dossier status "$D2" rejected >/dev/null
carry mai hoa
FIELDMESH_NOW=$((T0 + 7000)) fm hoa dossier correct "$D2" --status processing \
  --reason "hồ sơ đã bổ sung" >/dev/null
carry hoa mai
[ "$(jfield "$(show mai "$D2")" status)" = processing ] || fail "the officer's correction lost"
step "a correction a member's key signed anyway is quarantined on the others"
n=$(jfield "$(fm minh --json dossier show "$D")" status)
out=$("$BIN/fm-forge" "$W/lan" "$W/minh" "$D" delivered "tự sửa" 2>&1) || fail "fm-forge failed: $out"
[ "$out" = "quarantined -20103" ] || fail "minh took lan's forged correction: $out"
[ "$(jfield "$(fm minh --json dossier show "$D")" status)" = "$n" ] ||
  fail "the forged correction changed minh's view"
doc=$(fm minh doctor 2>&1 || true)
printf "%s\n" "$doc" | sed -n 1,12p
printf '%s\n' "$doc" | grep -qF "a dossier.correct by Lò Thị Lan (Team 1)" ||
  fail "doctor does not show the refused correction: $doc"

step "who may change what: team 2 may not void team 1's visit, the officer may"
V=$(fm lan visit add --village "Nghĩa Tân" --mode home --services account_created \
  --citizens 2 | grep -o 'V-[0-9A-Z]*' | head -n1)
[ -n "$V" ] || fail "no visit id"
carry lan mai
carry lan hoa
n=$(entries mai)
refused 1 "Team 1" fm mai visit void "$V" --reason "không phải của tổ"
[ "$(entries mai)" = "$n" ] || fail "a refused void wrote an entry"
refused 1 "Team 1" fm mai dossier status "$D" withdrawn
FIELDMESH_NOW=$((T0 + 8000)) fm hoa visit void "$V" --reason "ghi trùng" >/dev/null
carry hoa lan
carry hoa mai

step "visit show and visit list name who voided, never a device id"
vs=$(fm lan visit show "$V")
printf '%s\n' "$vs"
for want in "Lò Thị Lan (Team 1), recorded" "Nguyễn Thị Hoa (Xã), voided — ghi trùng" \
  "by Nguyễn Thị Hoa (Xã) — ghi trùng"; do
  printf '%s\n' "$vs" | grep -qF -- "$want" || fail "visit show lacks \"$want\""
done
for s in lan mai; do
  fm "$s" visit list | grep -F "$V" | grep -qF "voided by Nguyễn Thị Hoa (Xã)" ||
    fail "visit list on $s does not say who voided it"
done
[ "$(status_field lan view_digest)" = "$(status_field hoa view_digest)" ] ||
  fail "lan and hoa differ after the void"
echo "PASS"
