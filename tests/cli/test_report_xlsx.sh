#!/usr/bin/env bash
# The report as a spreadsheet and as the news report's paragraph
# (docs/cli.md, `fieldmesh report --format xlsx`, `fieldmesh report
# bulletin`), on a fixed data set with a fixed clock:
#   - each XLSX opens with openpyxl and holds the numbers of --format json,
#     as numbers, under a bold header, with Vietnamese names intact and
#     columns as wide as their text;
#   - a visit received with control characters and a thousand combining
#     marks in its village still makes a workbook that opens;
#   - --format xlsx without -o, -o into a missing folder, onto a folder or
#     an existing file (without --force) are refused, nothing written;
#   - the bulletin, in Vietnamese and English, is the golden text
#     tests/cli/bulletin.golden.
#
# usage: test_report_xlsx.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_report_xlsx.sh BIN_DIR}
FM="$BIN/fieldmesh"
NAME=test_report_xlsx
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../net/lib.sh
. "$HERE/../net/lib.sh"

# Debian's python3 holds python3-openpyxl (scripts/setup.sh); another
# python3 first on PATH may not.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
"$PY" -c 'import openpyxl' 2>/dev/null ||
  fail "$PY lacks openpyxl (bash scripts/setup.sh installs python3-openpyxl)"

# 2026-12-05 12:00 in Vietnam: the dossiers' day, and "today".
export FIELDMESH_NOW=1796446800000

step "two laptops of Team 1, visits in two villages, four dossiers"
fm auth authority init --commune "Tân Quang" >/dev/null
for l in a b; do
  fm $l init | tail -n1 >"$W/$l.id"
  fm auth enroll "$(cat "$W/$l.id")" --name "Lò Thị Lan $l" --team "Team 1" --role member \
    --villages "Nghĩa Tân, Mục Lạn" -o "$W/$l.join" >/dev/null
done
for l in a b; do fm $l join "$W/$l.join" >/dev/null; done
visit() { fm a visit add --mode village_point "$@" | tail -n1; }
visit --village "Nghĩa Tân" --date 2026-12-01 --place "Trà Kiểm" \
  --services account_created,eid_activated --citizens 12 >/dev/null
visit --village "Mục Lạn" --date 2026-12-02 --place "Miếu Bông" \
  --services account_created,payment_guided --citizens 5 >/dev/null
v3=$(visit --village "Nghĩa Tân" --date 2026-12-03 --services app_installed --citizens 1)
fm a visit void "$v3" --reason "ghi nhầm" >/dev/null
visit --village "Nghĩa Tân" --date 2026-11-28 --services account_created --citizens 7 >/dev/null
visit --village "Mục Lạn" --date 2026-12-04 --place "Miếu Bông" \
  --services eid_activated,feedback_guided,result_received --citizens 990 >/dev/null
dossier() { fm a dossier add --procedure "$1" --applicant-name "$2" --village "Nghĩa Tân" | tail -n1; }
d1=$(dossier khai_sinh "Công dân một")
d2=$(dossier khai_sinh "Công dân hai")
d3=$(dossier khai_tu "Công dân ba")
d4=$(dossier khai_sinh "Công dân bốn")
for s in submitted processing result_ready delivered; do fm a dossier status "$d1" $s >/dev/null; done
fm a dossier status "$d2" submitted >/dev/null
fm a dossier status "$d3" submitted >/dev/null
fm a dossier status "$d3" rejected >/dev/null
fm a dossier status "$d4" withdrawn >/dev/null

# same_as_json BY [ARGS...]: the workbook of the report holds what
# --format json says, row for row, numbers as numbers.
same_as_json() {
  local by=$1 out
  shift
  rm -f "$W/r.xlsx"
  fm a report --by "$by" "$@" --format xlsx -o "$W/r.xlsx" >/dev/null
  fm a report --by "$by" "$@" --format json >"$W/r.json"
  out=$("$PY" - "$W/r.xlsx" "$W/r.json" "$by" <<'PYEOF'
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.active
rep = json.load(open(sys.argv[2], encoding="utf-8"))
by = sys.argv[3]
rows = list(ws.iter_rows(values_only=True))
head = [h for h in rows[2] if h is not None]
assert head[0] == by, head
assert all(ws.cell(row=3, column=i + 1).font.b for i in range(len(head))), "header not bold"
body = rows[3:]
assert len(body) == len(rep["rows"]) + 1, (len(body), len(rep["rows"]))
for got, want in zip(body, rep["rows"] + [dict(rep["total"], **{by: "TOTAL"})]):
    for i, k in enumerate(head):
        v = got[i]
        if k == by or k == "name":
            assert (v or "") == want.get(k, ""), (k, v, want.get(k))
        else:
            assert isinstance(v, int) and v == want[k], (k, v, want[k])
for i, k in enumerate(head):
    letter = openpyxl.utils.get_column_letter(i + 1)
    width = ws.column_dimensions[letter].width
    longest = max(len(str(r[i])) for r in rows[2:] if r[i] is not None)
    assert width >= longest, (letter, width, longest)
print("ok", len(body))
PYEOF
) || fail "report --by $by $*: the workbook differs from the JSON"
  echo "  by $by $*: $out"
}

step "the workbook holds the numbers of --format json"
same_as_json village
same_as_json service --from 2026-12-01 --to 2026-12-05
same_as_json procedure
same_as_json day --from 2026-12
same_as_json member --from 2026-12 --status delivered
"$PY" - "$W/r.xlsx" <<'PYEOF' || fail "the title row or the member's name is wrong"
import sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1]).active
title = ws.cell(row=1, column=1).value
assert title == "Tân Quang: report by member, 2026-12 to today, status delivered", title
assert ws.cell(row=4, column=1).value == "Lò Thị Lan a", ws.cell(row=4, column=1).value
PYEOF
fm a report --by village --format xlsx -o "$W/v.xlsx" >/dev/null
"$PY" - "$W/v.xlsx" <<'PYEOF' || fail "the villages are not as written"
import sys, unicodedata, openpyxl
ws = openpyxl.load_workbook(sys.argv[1]).active
keys = [ws.cell(row=r, column=1).value for r in range(4, 6)]
assert keys == ["Mục Lạn", "Nghĩa Tân"], keys
assert all(unicodedata.is_normalized("NFC", k) for k in keys)
PYEOF

step "refusals: no -o, a missing folder, a folder, an existing file"
refused() {
  local want=$1 code=$2 rc=0
  shift 2
  fm a report --by village "$@" >"$W/out" 2>"$W/err" || rc=$?
  [ "$rc" = "$code" ] || fail "report $* exited $rc, not $code: $(cat "$W/err")"
  [ "$(wc -l <"$W/err")" = 1 ] && grep -q -- "$want" "$W/err" || fail "report $*: $(cat "$W/err")"
}
refused "add -o FILE" 2 --format xlsx
refused "goes with --format xlsx" 2 --format csv -o "$W/x.csv"
refused "does not exist" 1 --format xlsx -o "$W/missing/r.xlsx"
refused "is a folder" 1 --format xlsx -o "$W"
before=$(cksum <"$W/v.xlsx")
refused "add --force" 1 --format xlsx -o "$W/v.xlsx"
[ "$(cksum <"$W/v.xlsx")" = "$before" ] || fail "the existing file was changed"
fm a report --by team --format xlsx -o "$W/v.xlsx" --force >/dev/null
[ "$(cksum <"$W/v.xlsx")" != "$before" ] || fail "--force did not replace the file"
[ -z "$(find "$W" -name '.tmp-*')" ] || fail "a temporary file was left behind"

step "hostile text received from another laptop"
fm a bundle export -o "$W/a.bundle" >/dev/null
fm b bundle import "$W/a.bundle" >/dev/null
hostile=$(printf 'Ngh\x01\x1b[31m\x7f' | od -An -tx1 | tr -d ' \n')
for _ in $(seq 1000); do hostile+=cc81; done
out=$("$BIN/fm-forge" "$W/a" "$W/b" --visit "Team 1" "$hostile") || fail "fm-forge: $out"
[ "$out" = accepted ] || fail "the forged visit was not accepted: $out"
fm b report --by village --format xlsx -o "$W/h.xlsx" >/dev/null
"$PY" - "$W/h.xlsx" <<'PYEOF' || fail "the workbook with hostile text does not open as it should"
import sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1]).active
keys = [ws.cell(row=r, column=1).value for r in range(4, 7)]
bad = [k for k in keys if "\ufffd" in k]
assert len(bad) == 1 and bad[0].startswith("Ngh\ufffd"), keys
assert not any(ord(ch) < 0x20 for ch in bad[0]), repr(bad[0])
assert ws.cell(row=7, column=1).value == "TOTAL"
PYEOF

step "the bulletin of 2026-12-01 to 2026-12-05 is the golden text"
{
  fm a report bulletin --from 2026-12-01 --to 2026-12-05
  fm a report bulletin --from 2026-12-01 --to 2026-12-05 --lang en
  fm a report bulletin --from 2026-10 --to 2026-10
} >"$W/bulletin"
diff -u "$HERE/bulletin.golden" "$W/bulletin" || fail "the bulletin differs from bulletin.golden"
json=$(fm a --json report bulletin --from 2026-12-01 --to 2026-12-05)
[ "$(jfield "$json" citizens)" = 1007 ] && [ "$(jfield "$json" account_created)" = 2 ] ||
  fail "bulletin --json: $json"
refused_b() {
  local rc=0
  fm a report bulletin "$@" >/dev/null 2>"$W/err" || rc=$?
  [ "$rc" = 2 ] || fail "report bulletin $* exited $rc: $(cat "$W/err")"
}
refused_b --from 2026-12-01
refused_b --from 2026-12-05 --to 2026-12-01
refused_b --from 2026-12-01 --to 2026-12-05 --lang fr
echo "$NAME: ok"
