#!/usr/bin/env bash
# One form for every text (docs/cli.md, "Text"): a village typed composed
# or decomposed is one village, in the record, in `visit list --village`
# and in one report row; blank space around text is dropped; text that is
# only blank space is refused with nothing written; a village that differs
# only in case or marks gets the enrolled spelling suggested.
#
# usage: test_text.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_text.sh BIN_DIR}
FM="$BIN/fieldmesh"
NAME=test_text
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"

entries() { status_field a entries; }

nfc=$(printf 'Ngh\xc4\xa9a T\xc3\xa2n')            # ĩ and â as one code point each
nfd=$(printf 'Nghi\xcc\x83a Ta\xcc\x82n')          # i + combining tilde, a + circumflex

step "a laptop whose village is $nfc"
fm auth authority init --commune "Tân Quang" >/dev/null
fm a init | tail -n1 >"$W/a.id"
fm auth enroll "$(cat "$W/a.id")" --name "Lò Thị Lan" --team "Team 1" --role member \
  --villages "$nfc" -o "$W/a.join" >/dev/null
fm a join "$W/a.join" >/dev/null

step "composed, decomposed and padded: one village, no warning"
for v in "$nfc" "$nfd" "  $nfd  "; do
  fm a visit add --village "$v" --mode home --citizens 1 --services account_created \
    >/dev/null 2>"$W/err" || fail "visit add --village '$v' failed: $(cat "$W/err")"
  if grep -q "not among" "$W/err"; then fail "'$v' was warned about: $(cat "$W/err")"; fi
done
fm a dossier add --procedure khai_sinh --applicant-name "  Lò Văn Pắng " \
  --village "$nfd" >/dev/null 2>"$W/err" || fail "dossier add failed: $(cat "$W/err")"
[ "$(fm a visit list --json | grep -o "\"village\":\"$nfc\"" | wc -l)" = 3 ] ||
  fail "the visits do not all hold the composed village: $(fm a visit list --json)"
fm a dossier list --json | grep -q "\"village\":\"$nfc\"" ||
  fail "the dossier's village is not composed: $(fm a dossier list --json)"
fm a dossier list --json | grep -q '"name":"Lò Văn Pắng"' ||
  fail "the applicant's name kept its blank space: $(fm a dossier list --json)"
[ "$(fm a visit list --village "$nfd" --json | grep -o '"id":"V-' | wc -l)" = 3 ] ||
  fail "visit list --village in the decomposed form does not find the visits"
rows=$(fm a report --by village --format csv | tail -n +2)
[ "$(printf '%s\n' "$rows" | wc -l)" = 1 ] || fail "more than one report row: $rows"
case "$rows" in "$nfc",3,*) ;; *) fail "the report row is not 3 visits of $nfc: $rows" ;; esac

step "only blank space is no text"
n=$(entries)
refused 2 "--applicant-name is only blank space" fm a dossier add \
  --procedure khai_sinh --applicant-name "   " --village "$nfc"
refused 2 "--note is only blank space" fm a visit add --village "$nfc" --mode home \
  --citizens 1 --services account_created --note "  "
refused 2 "--village is only blank space" fm a visit add --village " " --mode home \
  --citizens 1 --services account_created
[ "$(entries)" = "$n" ] || fail "a refused record was written"

step "the same name without marks: the enrolled spelling is suggested"
fm a visit add --village "nghia tan" --mode home --citizens 1 --services account_created \
  >/dev/null 2>"$W/err"
grep -qF "did you mean \"$nfc\"?" "$W/err" || fail "no suggestion: $(cat "$W/err")"
echo "$NAME: ok"
