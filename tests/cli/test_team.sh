#!/usr/bin/env bash
# Who may change what, enforced where every laptop agrees (validation):
#   - a member of team 2 cannot void team 1's visit: refused on her laptop
#     (exit 1, one line, nothing written), and a void her key signed anyway
#     is quarantined on the others, where doctor names it;
#   - such a void that arrives before the visit waits for it (held), and is
#     then judged the same way;
#   - a leader changes only her team's records; the officer any team's;
#   - every laptop ends with the same views.
#
# usage: test_team.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_team.sh BIN_DIR}
FM="$BIN/fieldmesh"
NAME=test_team
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
[ -x "$FM" ] || fail "$FM is not built"

export FIELDMESH_NOW=1764900000000

visit() {
  fm "$1" visit add --village "Nghĩa Tân" --mode home --services account_created \
    --citizens 1 | tail -n1
}
voided() { fm "$1" --json visit show "$2" | jq -r .voided; }
entries() { status_field "$1" entries; }
digest() { status_field "$1" view_digest; }

step "a commune: members of teams 1 and 2, team 1's leader, the officer, a late laptop"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop lan "Lò Thị Lan" "Team 1" member ""
laptop mai "Hà Thị Mai" "Team 2" member ""
laptop minh "Hoàng Văn Minh" "Team 1" leader ""
laptop hoa "Nguyễn Thị Hoa" "Xã" officer ""
laptop tuan "Vũ Văn Tuấn" "Team 1" member ""
for s in lan mai minh hoa tuan; do carry auth "$s" >/dev/null; done

step "lan (team 1) and mai (team 2) record visits; mai and minh get both"
V1=$(visit lan)
V2=$(visit lan)
V3=$(visit mai)
carry mai tuan >/dev/null          # mai's log only: tuan has none of lan's yet
for s in mai minh hoa; do carry lan "$s" >/dev/null; done
carry mai minh >/dev/null
carry mai hoa >/dev/null

step "mai may not void team 1's visit on her laptop"
n=$(entries mai)
refused 1 "Team 1" fm mai visit void "$V1" --reason "nhầm"
[ "$(entries mai)" = "$n" ] || fail "a refused void wrote an entry"

step "a void mai's key signed anyway is quarantined by minh"
out=$("$BIN/fm-forge" "$W/mai" "$W/minh" --void "$V1" "tự hủy" 2>&1) ||
  fail "fm-forge failed: $out"
[ "$out" = "quarantined -20103" ] || fail "minh took mai's forged void: $out"
[ "$(voided minh "$V1")" = false ] || fail "the forged void voided the visit on minh's laptop"
doc=$(fm minh doctor 2>&1 || true)
case "$doc" in *"changes not allowed to their writer"*"a visit.void by Hà Thị Mai"*) ;;
  *) fail "doctor does not name the refused void: $doc" ;; esac

step "on tuan's laptop it comes before the visit: it waits, then is quarantined"
out=$("$BIN/fm-forge" "$W/mai" "$W/tuan" --void "$V1" "tự hủy" 2>&1) ||
  fail "fm-forge failed: $out"
[ "$out" = "held" ] || fail "tuan judged a void of a visit it does not hold: $out"
[ "$(status_field tuan held)" = 1 ] || fail "tuan does not hold the void"
carry lan tuan >/dev/null
[ "$(status_field tuan held)" = 0 ] || fail "tuan still holds the void"
[ "$(status_field tuan quarantined)" = 1 ] || fail "tuan did not quarantine the void"
[ "$(voided tuan "$V1")" = false ] || fail "the forged void voided the visit on tuan's laptop"

step "a leader only within her team, the officer any team"
refused 1 "Team 2" fm minh visit void "$V3" --reason "nhầm"
fm minh visit void "$V2" --reason "ghi hai lần" >/dev/null
fm hoa visit void "$V3" --reason "hộ không có thật" >/dev/null
fm hoa visit void "$V1" --reason "kiểm tra lại" >/dev/null

step "every laptop ends with the same views"
for s in minh hoa; do for d in lan mai tuan; do carry "$s" "$d"; done; done
for s in lan mai tuan; do carry "$s" minh; carry "$s" hoa; done
carry hoa minh >/dev/null
carry minh hoa >/dev/null
want=$(digest minh)
for s in lan mai hoa tuan; do
  [ "$(digest "$s")" = "$want" ] || fail "$s's views differ from minh's"
done
for v in "$V1" "$V2" "$V3"; do [ "$(voided tuan "$v")" = true ] || fail "$v is not voided"; done

echo "PASS $NAME"
