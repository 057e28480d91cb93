#!/usr/bin/env bash
# The commune's vocabularies, end to end through `fieldmesh` on real
# stores carried between by bundles:
#   - without a list (an older commune) any village is recorded, as before;
#   - once the authority lists villages, an unknown one is refused with the
#     closest suggested, and one typed without case or diacritics is
#     recorded in the list's spelling;
#   - a leader records an unlisted village with --new-village (flagged in
#     reports until the authority adds it); a member may not;
#   - a rename keeps history: old records show and group under the new
#     name on every laptop; a retired village takes no new record;
#   - a vocabulary entry a member's key signed anyway is quarantined.
#
# usage: test_vocab.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_vocab.sh BIN_DIR}
FM="$BIN/fieldmesh"
NAME=test_vocab
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
[ -x "$FM" ] || fail "$FM is not built"

export FIELDMESH_NOW=1764900000000

visit() {
  local who=$1
  shift
  fm "$who" visit add --mode home --services account_created --citizens 2 "$@" | tail -n1
}
entries() { status_field "$1" entries; }
report_row() { fm "$1" report --by village --format csv | tr -d '\r' | grep -F "$2," || true; }

step "a commune: a member and a leader of team 1, a member of team 2"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop lan "Lò Thị Lan" "Team 1" member ""
laptop minh "Hoàng Văn Minh" "Team 1" leader ""
laptop mai "Hà Thị Mai" "Team 2" member ""
for s in lan minh mai; do carry auth "$s"; done

step "no list yet: any village, as before"
V0=$(visit lan --village "Nghia Tan")
[ -n "$V0" ] || fail "a village was refused without a list"
out=$(fm lan authority villages list)
case "$out" in *"keeps no list of villages"*) ;; *) fail "list said: $out" ;; esac

step "the authority lists villages; a member may not"
fm auth authority villages add "Nghĩa Tân" >/dev/null
fm auth authority villages add "Vinh Quang" >/dev/null
refused 1 "already among" fm auth authority villages add "nghia tân"
refused 1 "authority" fm lan authority villages add "Bản Mới"
for s in lan minh mai; do carry auth "$s"; done
out=$(fm lan --json authority villages list)
[ "$(jq -r '[.[].name] | join(",")' <<<"$out")" = "Nghĩa Tân,Vinh Quang" ] ||
  fail "lan's list is $out"

step "an unknown village is refused with the closest suggested; nothing is written"
n=$(entries lan)
refused 2 'did you mean "Nghĩa Tân"?' fm lan visit add --village "Nghia Tn" --mode home \
  --services account_created --citizens 1
refused 2 "one of: Nghĩa Tân, Vinh Quang" fm lan dossier add --procedure khai_sinh \
  --applicant-name "Lò Văn Pó" --village "Xóm Xa"
[ "$(entries lan)" = "$n" ] || fail "a refused record wrote an entry"

step "typed without case or diacritics, recorded in the list's spelling"
V1=$(visit lan --village "nghia tan")
[ "$(fm lan --json visit show "$V1" | jq -r .village)" = "Nghĩa Tân" ] ||
  fail "the visit was not recorded as Nghĩa Tân"
# Decomposed input (i + combining tilde, a + combining circumflex + grave).
D1=$(fm lan dossier add --procedure khai_sinh --applicant-name "Lò Văn Pó" \
  --village "$(printf 'Nghi\xcc\x83a Ta\xcc\x82n')" | tail -n1)
[ "$(fm lan --json dossier show "$D1" | jq -r .village)" = "Nghĩa Tân" ] ||
  fail "the dossier was not recorded as Nghĩa Tân"

step "--new-village: a leader's is recorded and flagged, a member's refused"
n=$(entries lan)
refused 1 "--new-village is for a team leader" fm lan visit add --village "Bản Mới" \
  --new-village --mode home --services account_created --citizens 1
[ "$(entries lan)" = "$n" ] || fail "a refused --new-village wrote an entry"
V2=$(visit minh --village "Bản Mới" --new-village 2>"$W/warn")
grep -q "flagged in reports" "$W/warn" || fail "no warning for a new village: $(cat "$W/warn")"
carry lan minh >/dev/null
row=$(report_row minh "Bản Mới (not listed)")
[ "$row" = "Bản Mới (not listed),1,2,0,0,0,0,0" ] || fail "minh's report row: '$row'"
fm minh visit show "$V2" | grep -q "^village *Bản Mới (not in the commune's list)$" ||
  fail "visit show does not flag the new village: $(fm minh visit show "$V2")"
# The authority adds it: the flag goes, the record stays.
fm auth authority villages add "Bản Mới" >/dev/null
carry auth minh >/dev/null
row=$(report_row minh "Bản Mới")
[ "$row" = "Bản Mới,1,2,0,0,0,0,0" ] || fail "after the add, minh's row: '$row'"

step "a rename keeps history: old records group under the new name everywhere"
# Nghĩa Tân holds V0 ("Nghia Tan", before the list), V1 and D1.
[ "$(report_row minh "Nghĩa Tân")" = "Nghĩa Tân,2,4,1,0,0,0,0" ] ||
  fail "before the rename: $(report_row minh "Nghĩa Tân")"
fm auth authority villages rename "nghia tan" "Nghĩa Tân Mới" >/dev/null
refused 1 "former name" fm auth authority villages add "Nghĩa Tân"
for s in lan minh mai; do carry auth "$s"; done
carry minh mai >/dev/null
for s in minh mai; do
  row=$(report_row "$s" "Nghĩa Tân Mới")
  [ "$row" = "Nghĩa Tân Mới,2,4,1,0,0,0,0" ] || fail "$s's row after the rename: '$row'"
  [ -z "$(report_row "$s" "Nghĩa Tân")" ] || fail "$s still shows the old name"
done
[ "$(fm minh --json visit show "$V1" | jq -r .village)" = "Nghĩa Tân" ] ||
  fail "the record's own text changed"
fm minh visit show "$V1" | grep -q "^village *Nghĩa Tân (now Nghĩa Tân Mới)$" ||
  fail "visit show does not name the new name: $(fm minh visit show "$V1")"
fm minh dossier show "$D1" | grep -q "^village *Nghĩa Tân (now Nghĩa Tân Mới)$" ||
  fail "dossier show does not name the new name: $(fm minh dossier show "$D1")"
# Listings find the old records under the new name, and under the old.
for name in "Nghĩa Tân Mới" "Nghĩa Tân"; do
  [ "$(fm minh --json visit list --village "$name" | jq -r '[.[].id] | sort | join(",")')" = \
    "$(printf '%s\n' "$V0" "$V1" | sort | paste -sd,)" ] || fail "visit list --village \"$name\""
  [ "$(fm minh --json dossier list --village "$name" | jq -r '.[].id')" = "$D1" ] ||
    fail "dossier list --village \"$name\""
done
refused 2 'is now called "Nghĩa Tân Mới"' fm lan visit add --village "Nghĩa Tân" --mode home \
  --services account_created --citizens 1
visit lan --village "nghia tan moi" >/dev/null
d1=$(status_field minh view_digest)
d2=$(status_field mai view_digest)
[ "$d1" = "$d2" ] || fail "minh and mai hold other views: $d1 / $d2"

step "a retired village takes no new record; its old ones stay"
fm auth authority villages retire "vinh quang" >/dev/null
refused 1 "already retired" fm auth authority villages retire "Vinh Quang"
carry auth lan >/dev/null
refused 2 "retired" fm lan visit add --village "Vinh Quang" --mode home \
  --services account_created --citizens 1
out=$(fm lan authority villages list)
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -q "^Vinh Quang *retired" || fail "Vinh Quang is not shown retired"
printf '%s\n' "$out" | grep -q "^Nghĩa Tân Mới *listed *Nghĩa Tân$" ||
  fail "the rename is not shown"

step "places in the list's spelling, households as typed; teams for enroll"
fm auth authority places add "Trà Kiểm" >/dev/null
carry auth lan >/dev/null
P1=$(visit lan --village "nghia tan moi" --place "tra kiem")
P2=$(visit lan --village "nghia tan moi" --place "nhà ông Pó")
[ "$(fm lan --json visit show "$P1" | jq -r .place)" = "Trà Kiểm" ] || fail "place not respelled"
[ "$(fm lan --json visit show "$P2" | jq -r .place)" = "nhà ông Pó" ] || fail "household changed"
fm auth authority teams add "Team 1" >/dev/null
fm auth authority teams add "Team 2" >/dev/null
fm tam init | tail -n1 >"$W/tam.id"
refused 2 'did you mean "Team 2"?' fm auth enroll "$(cat "$W/tam.id")" --name "Tâm" \
  --team "Tem 2" --role member -o "$W/tam.join"
refused 2 "Vinh Quang" fm auth enroll "$(cat "$W/tam.id")" --name "Tâm" --team "team 2" \
  --role member --villages "Vinh Quang" -o "$W/tam.join"
fm auth enroll "$(cat "$W/tam.id")" --name "Tâm" --team "team 2" --role member \
  --villages "nghia tan moi" -o "$W/tam.join" >/dev/null
out=$(fm tam join "$W/tam.join")
case "$out" in *"(Team 2, member); villages: Nghĩa Tân Mới"*) ;; *) fail "tam joined as: $out" ;; esac

step "a vocabulary entry a member's key signed anyway is quarantined on the others"
carry lan mai >/dev/null
out=$("$BIN/fm-forge" "$W/lan" "$W/mai" --vocab village "Làng Giả" 2>&1) ||
  fail "fm-forge failed: $out"
[ "$out" = "quarantined -20103" ] || fail "mai took lan's forged vocabulary entry: $out"
refused 2 "not among the commune's villages" fm mai visit add --village "Làng Giả" --mode home \
  --services account_created --citizens 1
doc=$(fm mai doctor 2>&1 || true)
case "$doc" in *"changes not allowed to their writer"*"a vocab by Lò Thị Lan"*) ;;
  *) fail "doctor does not show the refused entry: $doc" ;; esac

echo "PASS $NAME"
