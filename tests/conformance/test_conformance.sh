#!/usr/bin/env bash
# Conformance: a commune built with the `fieldmesh` command (an authority,
# three laptops, visits, dossiers up the status ladder, a void, statuses and
# a void that reach a laptop before their records), gathered on one laptop
# and exported as a bundle, is read by reader.py, an independent reader
# written from docs/protocol.md and docs/architecture.md alone. The reader's
# view digest and entry count must equal `fieldmesh status --json`'s, every
# signature, chain link and the header signature must verify, and a copy of
# the bundle with one entry's signature damaged must be caught.
#
# usage: test_conformance.sh BIN_DIR      (the folder holding `fieldmesh`)
set -euo pipefail

BIN=${1:?usage: test_conformance.sh BIN_DIR}
FM="$BIN/fieldmesh"
HERE=$(cd "$(dirname "$0")" && pwd)
READER="$HERE/reader.py"
[ -x "$FM" ] || { echo "test_conformance: $FM is not built" >&2; exit 1; }

# Debian's python3 holds python3-msgpack and python3-nacl; another python3
# first on PATH may not.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
"$PY" -c 'import msgpack, nacl.signing' 2>/dev/null || {
  echo "test_conformance: $PY lacks msgpack or nacl (bash scripts/setup.sh installs python3-msgpack python3-nacl)" >&2
  exit 1
}

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# Fixed times: 2025-12-05 01:00 UTC, one second per command; the counter
# lives in a file so that calls inside $(...) advance it too.
echo 1764896400000 >"$W/now"

fail() { echo "test_conformance: FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

fm() {
  local now
  now=$(( $(cat "$W/now") + 1000 ))
  echo "$now" >"$W/now"
  FIELDMESH_NOW=$now "$FM" --state "$W/$1" "${@:2}"
}

# jget JSON EXPR: evaluates the Python expression EXPR on the parsed JSON `j`.
jget() { printf '%s' "$1" | "$PY" -c 'import json,sys; j=json.load(sys.stdin); print('"$2"')'; }

step "the documents' worked examples"
"$PY" "$HERE/doc_examples.py" >"$W/examples.log" 2>&1 ||
  { cat "$W/examples.log"; fail "a worked example of the docs does not hold"; }
tail -n1 "$W/examples.log"

step "authority and three laptops"
fm auth authority init --commune "Tân Quang" >/dev/null
ID1=$(fm lap1 init | tail -n1)
ID2=$(fm lap2 init | tail -n1)
ID3=$(fm lap3 init | tail -n1)
fm auth enroll "$ID1" --name "Lò Thị Lan" --team "Tổ 1" --role member \
  --villages "Nghĩa Tân,Vinh Quang" -o "$W/lap1.join" >/dev/null
fm auth enroll "$ID2" --name "Hoàng Văn Minh" --team "Tổ 1" --role leader \
  --villages "Nghĩa Tân,Vinh Quang,Xuân Hòa" -o "$W/lap2.join" >/dev/null
fm auth enroll "$ID3" --name "Đặng Thị Hoa" --team "Tổ 1" --role member \
  --villages "Xuân Hòa,Tân Lâm" --expires 2027-12-31 -o "$W/lap3.join" >/dev/null
for l in lap1 lap2 lap3; do fm $l join "$W/$l.join" >/dev/null; done
# The authority's log (the three enrollments) goes to lap1.
fm auth bundle export -o "$W/auth.bundle" >/dev/null
fm lap1 bundle import "$W/auth.bundle" >/dev/null

step "lap1: visits with several services, dossiers"
V1=$(fm lap1 visit add --village "Nghĩa Tân" --mode home \
  --services account_created,eid_activated,app_installed --citizens 3 \
  --place "nhà ông Sùng A Chứ" --note "cần quay lại" | tail -n1)
V2=$(fm lap1 visit add --village "Vinh Quang" --mode village_point \
  --services dossier_submitted,payment_guided,feedback_guided --citizens 12 \
  --date 2025-12-04 | tail -n1)
D1=$(fm lap1 dossier add --procedure chung_thuc --applicant-name "Sùng A Páo" \
  --applicant-id 002085001234 --phone "0912 345 678" --village "Vinh Quang" \
  --note "bản sao sổ hộ khẩu" | tail -n1)
D2=$(fm lap1 dossier add --procedure khai_sinh --applicant-name "Vàng Thị Mai" \
  --village "Nghĩa Tân" --channel one_stop | tail -n1)
D3=$(fm lap1 dossier add --procedure lien_thong_tre_em --applicant-name "Giàng Seo Phử" \
  --village "Nghĩa Tân" | tail -n1)
case "$V1$V2$D1$D2$D3" in V-*V-*D-*D-*D-*) ;; *) fail "ids: $V1 $V2 $D1 $D2 $D3" ;; esac

step "lap2 gets lap1's log, moves dossiers up the ladder, voids a visit"
fm lap1 bundle export -o "$W/lap1-a.bundle" >/dev/null
fm lap2 bundle import "$W/lap1-a.bundle" >/dev/null
fm lap2 dossier status "$D1" submitted --ref "000.00.23.H21-251205-0001" >/dev/null
fm lap2 dossier status "$D1" processing --note "chờ ký" >/dev/null
fm lap2 dossier status "$D2" submitted >/dev/null
fm lap2 dossier status "$D2" rejected --note "thiếu giấy chứng sinh" >/dev/null
fm lap2 visit void "$V1" --reason "ghi nhầm hộ" >/dev/null
V3=$(fm lap2 visit add --village "Xuân Hòa" --mode one_stop \
  --services account_created,result_received --citizens 1 --place "Bộ phận một cửa" | tail -n1)
D4=$(fm lap2 dossier add --procedure gia_dinh_van_hoa --applicant-name "Hộ Lý Văn Sinh" \
  --village "Xuân Hòa" --channel post | tail -n1)
# lap1 goes on meanwhile: one more visit and a status of its own.
fm lap1 dossier status "$D3" submitted --ref "LT-2025-000777" >/dev/null
V4=$(fm lap1 visit add --village "Vinh Quang" --mode home --services eid_activated \
  --citizens 2 | tail -n1)

step "lap3 gets lap2's entries before the records they change"
# lap2's bundle for lap1's vector holds only lap2's own log: its statuses and
# its void come to lap3 before lap1's dossiers and visit, and wait for them
# (held: the team rule needs the record's team), with lap2's entries behind.
fm lap1 vector export -o "$W/lap1.vector" >/dev/null
fm lap2 bundle export --for "$W/lap1.vector" -o "$W/lap2-only.bundle" >/dev/null
fm lap3 bundle import "$W/lap2-only.bundle" >/dev/null
PH=$(fm lap3 status --json)
[ "$(jget "$PH" 'j["held"]')" -ge 5 ] && [ "$(jget "$PH" 'j["dossiers"]')" -eq 0 ] ||
  fail "lap3 does not hold lap2's changes for their records: $PH"
fm lap1 bundle export -o "$W/lap1-b.bundle" >/dev/null
fm lap3 bundle import "$W/lap1-b.bundle" >/dev/null
PH=$(fm lap3 status --json)
[ "$(jget "$PH" 'j["held"]')" -eq 0 ] || fail "lap3 still holds entries: $PH"
# lap2's log again, whole: duplicates now.
fm lap2 bundle export -o "$W/lap2-all.bundle" >/dev/null
fm lap3 bundle import "$W/lap2-all.bundle" >/dev/null

step "lap3 finishes the work: final states, its own visit"
fm lap3 dossier status "$D1" result_ready >/dev/null
fm lap3 dossier status "$D1" delivered --note "đã trả kết quả tận nhà" >/dev/null
fm lap3 dossier status "$D4" withdrawn --note "công dân rút hồ sơ" >/dev/null
fm lap3 visit add --village "Tân Lâm" --mode village_point \
  --services account_created,eid_activated,dossier_submitted,payment_guided,feedback_guided,result_received,app_installed \
  --citizens 40 --place "Nhà văn hóa thôn Tân Lâm" >/dev/null
fm lap3 dossier show "$D1" | grep -q "Sùng A Páo" || fail "lap3 lacks D1's applicant"

step "the reader on lap3's whole bundle, compressed (FMBNDL4) and not (--format 3)"
fm lap3 bundle export -o "$W/all4.bundle" >/dev/null
fm lap3 bundle export --format 3 -o "$W/all.bundle" >/dev/null
[ "$(head -c 8 "$W/all4.bundle")" = "FMBNDL4" ] || fail "a bundle is not FMBNDL4"
[ "$(head -c 8 "$W/all.bundle")" = "FMBNDL3" ] || fail "--format 3 does not write FMBNDL3"
S=$(fm lap3 status --json)
R=$("$PY" "$READER" "$W/all.bundle") || { echo "$R"; fail "reader.py found problems"; }
R4=$("$PY" "$READER" "$W/all4.bundle") || { echo "$R4"; fail "reader.py found problems in FMBNDL4"; }
[ "$(jget "$R4" 'j["format"]')" = 4 ] || fail "the reader did not read all4.bundle as FMBNDL4"
[ "$(jget "$R4" '[(i["id"], i["length"]) for i in j["items"]], j["view_digest"], j["header"]["sig_ok"]')" = \
  "$(jget "$R" '[(i["id"], i["length"]) for i in j["items"]], j["view_digest"], j["header"]["sig_ok"]')" ] ||
  fail "FMBNDL4 and FMBNDL3 of one store do not hold the same entries"
echo "$R" | "$PY" -c 'import json,sys; j=json.load(sys.stdin); j.pop("items"); print(json.dumps(j, ensure_ascii=False, indent=1))'

DIG=$(jget "$S" 'j["view_digest"]')
RDIG=$(jget "$R" 'j["view_digest"]')
[ ${#DIG} -eq 64 ] || fail "no view_digest in status: $S"
[ "$RDIG" = "$DIG" ] || fail "view digests differ: reader $RDIG, fieldmesh $DIG"
ENTRIES=$(jget "$S" 'j["entries"]')
[ "$(jget "$R" 'j["entries"]')" = "$ENTRIES" ] ||
  fail "entry counts differ: reader $(jget "$R" 'j["entries"]'), fieldmesh $ENTRIES"
[ "$(jget "$R" 'j["decoded"]')" = "$ENTRIES" ] || fail "the reader could not decode every entry"
[ "$(jget "$R" 'j["signatures_ok"]')" = "$ENTRIES" ] || fail "not every signature verified"
[ "$(jget "$R" 'j["chain_ok"]')" = True ] || fail "chain links: $(jget "$R" 'j["bad_links"]')"
[ "$(jget "$R" 'j["header"]["signed"]')" = True ] || fail "the bundle header is not signed"
[ "$(jget "$R" 'j["header"]["sig_ok"]')" = True ] || fail "the header signature does not verify"
[ "$(jget "$R" 'j["header"]["from"]')" = "$ID3" ] || fail "header from is not lap3"
[ "$(jget "$R" 'j["authors"]')" -eq 4 ] || fail "expected 4 authors"
[ "$(jget "$R" 'j["authors"]')" = "$(jget "$S" 'j["authors"]')" ] || fail "author counts differ"
[ "$(jget "$R" 'sum(i["length"] for i in j["items"])')" = "$(jget "$S" 'j["bytes"]')" ] ||
  fail "the entries' bytes differ from status's bytes"
[ "$(jget "$R" 'j["dossiers"]')" = "$(jget "$S" 'j["dossiers"]')" ] || fail "dossier counts differ"
[ "$(jget "$R" 'j["visits"]')" = "$(jget "$S" 'j["visits"]')" ] || fail "visit counts differ"
# 3 enrollments; lap1: 3 visits, 3 dossiers, 1 status; lap2: 4 statuses,
# 1 void, 1 visit, 1 dossier; lap3: 3 statuses, 1 visit.
[ "$ENTRIES" -eq 21 ] || fail "expected 21 entries, got $ENTRIES"
if VD=$(jget "$S" 'j.get("vector_digest", "")') && [ -n "$VD" ]; then
  [ "$(jget "$R" 'j["vector_digest"]')" = "$VD" ] || fail "vector digests differ"
fi
[ "$(jget "$R" 'j["writer"]["off"]')" = "[]" ] ||
  fail "the CLI's entries are not as the docs say writers write them: $(jget "$R" 'j["writer"]["off"]')"
[ "$(jget "$R" 'j["writer"]["record_ids"]')" -eq 9 ] || fail "expected 9 record ids"
[ "$(jget "$R" '[e["expires"] for e in j["enrollments"] if e["device"] == "'"$ID3"'"]')" = "[1830272399999]" ] ||
  fail "--expires 2027-12-31 is not 1830272399999 (protocol.md 3.8)"
[ "$(jget "$R" '[e["role"] + "/" + e["team"] for e in j["enrollments"] if e["device"] == "'"$ID2"'"]')" = "['leader/Tổ 1']" ] ||
  fail "lap2's enrollment does not read as leader of Tổ 1 (the team whose dossiers it moves)"
echo "reader and fieldmesh agree: $ENTRIES entries, view digest $DIG"

step "vector, join and the administrator's files"
fm lap3 vector export -o "$W/lap3.vector" >/dev/null
RV=$("$PY" "$READER" "$W/lap3.vector") || fail "the reader refuses lap3's vector file: $RV"
[ "$(jget "$RV" 'j["file"], j["entries"], j["header"]["signed"], j["header"]["sig_ok"], j["header"]["vector_authors"], j["header"]["certs"]')" = "vector 0 True True 4 3" ] ||
  fail "lap3's vector file: $RV"
[ "$(jget "$RV" 'j["header"]["vector"]')" = "$(jget "$R" '[[h["author"], h["seq"], h["id"]] for h in j["heads"]]')" ] ||
  fail "lap3's vector file does not name the heads of its bundle"
RJ=$("$PY" "$READER" "$W/lap3.join") || fail "the reader refuses a join file: $RJ"
[ "$(jget "$RJ" 'j["file"], j["header"]["signed"], j["header"]["certs"], j["header"]["vector_authors"], j["header"]["from"] == j["header"]["authority"]')" = "join False 1 0 True" ] ||
  fail "the join file is not as protocol.md 7.5 says: $RJ"
RA=$("$PY" "$READER" "$W/auth.bundle") || fail "the reader refuses the administrator's bundle: $RA"
[ "$(jget "$RA" 'j["header"]["signed"], j["header"]["from"] == j["header"]["authority"], j["entries"]')" = "False True 3" ] ||
  fail "the administrator's bundle is not as protocol.md 7.2 says: $RA"
echo "vector, join and administrator's files read as the docs say"

step "a damaged signature is caught"
# Flip one byte in the middle of the signature of lap2's 3rd entry, then
# mend the trailer's checksum so that the container still reads.
"$PY" - "$W/all.bundle" "$W/badsig.bundle" "$ID2" "$READER" <<'EOF'
import hashlib, json, subprocess, sys
src, dst, author, reader = sys.argv[1:5]
data = bytearray(open(src, "rb").read())
r = json.loads(subprocess.run([sys.executable, reader, src],
                              capture_output=True, check=True).stdout)
it = next(i for i in r["items"] if i["author"] == author and i["seq"] == 3)
pos = it["offset"] + it["length"] - 32          # inside the 64-byte sig
data[pos] ^= 0x01
t = r["trailer_offset"]                         # the checksum covers [0, t)
data[-32:] = hashlib.blake2b(bytes(data[:t]), digest_size=32).digest()
open(dst, "wb").write(bytes(data))
EOF
rc=0
B=$("$PY" "$READER" "$W/badsig.bundle") || rc=$?
[ "$rc" -eq 1 ] || fail "the reader did not report the damaged bundle (exit $rc): $B"
[ "$(jget "$B" 'len(j["bad_signatures"])')" -eq 1 ] || fail "expected one bad signature: $B"
[ "$(jget "$B" 'j["bad_signatures"][0]["author"]')" = "$ID2" ] || fail "wrong author reported"
[ "$(jget "$B" 'j["bad_signatures"][0]["seq"]')" -eq 3 ] || fail "wrong seq reported"
echo "damaged signature caught: $(jget "$B" 'j["problems"]')"
step "strict decoding, case by case, by the reader and by fieldmesh"
# A fresh laptop: entries of unknown authors are held when they decode and
# counted as refused (invalid) when they do not (protocol.md 3.7).
ID4=$(fm lap4 init | tail -n1)
fm auth enroll "$ID4" --name "Phạm Văn Đức" --team "Tổ 1" --role member -o "$W/lap4.join" >/dev/null
fm lap4 join "$W/lap4.join" >/dev/null
"$PY" "$HERE/strict_cases.py" "$FM" "$W/lap4" >"$W/strict.log" 2>&1 ||
  { cat "$W/strict.log"; fail "the reader or fieldmesh reads a case otherwise than the doc"; }
tail -n1 "$W/strict.log"

step "the merge rules on the edges the CLI never writes"
"$PY" "$HERE/merge_cases.py" "$FM" "$W" >"$W/merge.log" 2>&1 ||
  { cat "$W/merge.log"; fail "the reader and fieldmesh build different views"; }
cat "$W/merge.log"

echo "test_conformance: ok"
