#!/usr/bin/env bash
# Scans of a citizen's papers, end to end through `fieldmesh` on real
# stores carried between by bundles:
#   - `dossier attach` seals a 300 KB scan into chunks; `dossier
#     attachments` lists it; `attachment get` writes the same bytes back,
#     0600, and never over an existing file without --force;
#   - a missing file, a folder, a FIFO, an empty file and one over 7.5 MiB
#     are refused in one line and write nothing; so is a member of another
#     team;
#   - a bundle without attachments carries the record but no chunk: the
#     other laptop lists the scan as not here and says so on `get`; a
#     bundle --with-attachments (FMBNDL4: chunks as they are) brings the same bytes, and the
#     scan's bytes are in no file in the clear;
#   - a bundle for another laptop's vector carries the chunks of the
#     records it carries, and they are kept there;
#   - with [privacy] seal = yes, the scan's name and key are sealed: a
#     Team 1 laptop lists and writes it, a Team 2 laptop holding every
#     chunk sees "(sealed: Team 1)" and can open nothing, and the name is
#     in none of its files.
#
# usage: test_attach.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_attach.sh BIN_DIR}
FM="$BIN/fieldmesh"
NAME=test_attach
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
[ -x "$FM" ] || fail "$FM is not built"
PY=python3

step "a commune with two laptops of Team 1 and one of Team 2"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop a "Lò Thị Lan"
laptop b "Hoàng Văn Minh"
laptop c "Sùng Thị Mai" "Team 2"
D=$(fm a dossier add --procedure khai_sinh --applicant-name "Nguyễn Văn A" \
  --village "Nghĩa Tân" | tail -n1)
entries() { status_field a entries; }

step "a 300 KB scan attached, listed, and read back the same"
# A recognisable plaintext: a citizen's id number repeated through the file.
$PY -c 'import sys; sys.stdout.buffer.write((b"CCCD 002190012345 " * 17000)[:300000])' >"$W/scan.jpg"
fm a dossier attach "$D" "$W/scan.jpg" --kind id_card | grep -q "5 chunks" ||
  fail "attach did not say 5 chunks"
fm a dossier attachments "$D" | grep -q "id_card  scan.jpg  300000          5/5" ||
  fail "attachments does not list the scan: $(fm a dossier attachments "$D")"
[ "$(jfield "$(fm a --json dossier attachments "$D")" chunks_here)" = 5 ] ||
  fail "--json does not say 5 chunks here"
fm a dossier attachment get "$D" 1 -o "$W/back.jpg" >/dev/null
cmp -s "$W/scan.jpg" "$W/back.jpg" || fail "the scan read back differs"
[ "$(stat -c %a "$W/back.jpg")" = 600 ] || fail "the scan read back is not 0600"
n=$(entries)
refused 1 "already exists" fm a dossier attachment get "$D" 1 -o "$W/back.jpg"
fm a dossier attachment get "$D" 1 -o "$W/back.jpg" --force >/dev/null
refused 1 "N is from 1 to 1" fm a dossier attachment get "$D" 2 -o "$W/x.jpg"
refused 2 "the action is get" fm a dossier attachment put "$D" 1 -o "$W/x.jpg"

step "bad files are refused in one line, nothing written"
mkfifo "$W/fifo"
: >"$W/empty"
head -c $((128 * 61440 + 1)) /dev/zero >"$W/big"
refused 1 "no such file" fm a dossier attach "$D" "$W/nope.jpg"
refused 1 "is a folder" fm a dossier attach "$D" "$W"
refused 1 "not a regular file" fm a dossier attach "$D" "$W/fifo"
refused 1 "is empty" fm a dossier attach "$D" "$W/empty"
refused 1 "over the 7.5 MiB limit" fm a dossier attach "$D" "$W/big"
refused 2 "--kind must be one of" fm a dossier attach "$D" "$W/scan.jpg" --kind selfie
[ "$(entries)" = "$n" ] || fail "a refused attach wrote an entry"

step "a bundle without attachments carries the record, not the scan"
fm a bundle export -o "$W/plain.bundle" >/dev/null
[ "$(head -c 7 "$W/plain.bundle")" = FMBNDL4 ] || fail "a bundle is not FMBNDL4"
fm b bundle import "$W/plain.bundle" >/dev/null
fm b dossier attachments "$D" | grep -q "0/5" || fail "b should hold none of the chunks"
refused 1 "have not reached this laptop yet" fm b dossier attachment get "$D" 1 -o "$W/b.jpg"
[ ! -e "$W/b.jpg" ] || fail "a failed get left a file"
fm b status | grep -q "0 chunks here (0 bytes); 5 named by records here have not arrived" ||
  fail "status does not say the scan is missing: $(fm b status)"
{ fm b doctor || true; } | grep -q "5 chunks of scans attached to dossiers here have not" ||
  fail "doctor does not say the scan is missing"
fm b dossier show "$D" | grep -q "scans .*1 (see" || fail "dossier show does not count the scan"
fm b dossier show "$D" | grep -q "attached id_card scan.jpg (300000 bytes)" ||
  fail "the timeline does not show the attachment"

step "a bundle with attachments brings the same bytes, sealed on the way"
fm a bundle export -o "$W/att.bundle" --with-attachments | grep -q "with 5 chunks" ||
  fail "export did not carry 5 chunks"
[ "$(head -c 7 "$W/att.bundle")" = FMBNDL4 ] || fail "a bundle with chunks is not FMBNDL4"
! grep -q "002190012345" "$W/att.bundle" || fail "the scan's bytes are in the bundle in the clear"
fm b bundle import "$W/att.bundle" | grep -q "kept 5" || fail "b did not keep the 5 chunks"
fm b dossier attachment get "$D" 1 -o "$W/b.jpg" >/dev/null
cmp -s "$W/scan.jpg" "$W/b.jpg" || fail "the scan b wrote differs"
for f in "$W"/a/store/data.mdb "$W"/b/store/data.mdb; do
  ! grep -q "002190012345" "$f" || fail "$f holds the scan's bytes in the clear"
done
[ "$(status_field a view_digest)" = "$(status_field b view_digest)" ] || fail "views differ"
fm b verify | grep -q '^verify: ok' || fail "verify failed on b"

step "b's signed bundle says b keeps a's scan: only then is it safe on a"
[ "$(status_field a scans_unsafe)" = 1 ] || fail "a's scan should wait to travel: $(fm a status --json)"
carry b a >/dev/null
[ "$(status_field a scans_unsafe)" = 0 ] ||
  fail "b's bundle does not count as b keeping a's scan: $(fm a status --json)"
[ "$(status_field a scan_bytes_waiting)" = 0 ] || fail "bytes still wait to travel on a"

step "another team's member cannot attach to Team 1's dossier"
fm c bundle import "$W/plain.bundle" >/dev/null
refused 1 "Team 1" fm c dossier attach "$D" "$W/scan.jpg"

step "a bundle for c's vector carries the new scan's chunks, and c keeps them"
head -c 70000 /dev/urandom >"$W/other.jpg"
fm a dossier attach "$D" "$W/other.jpg" >/dev/null
fm c vector export -o "$W/c.vec" >/dev/null
fm a bundle export --for "$W/c.vec" -o "$W/c.bundle" --with-attachments >/dev/null
out=$(fm c bundle import "$W/c.bundle")
echo "$out"
echo "$out" | grep -q "kept 2" || fail "c should keep the new scan's 2 chunks: $out"
fm c dossier attachments "$D" | grep -q "0/5" || fail "c should still lack the first scan"

step "sealed: the name and key of a scan reach only its team's laptops"
carry b a >/dev/null   # a learns of b and c: the readers of what it seals
carry c a >/dev/null
printf '[privacy]\nseal = yes\n' >"$W/a/fieldmeshd.conf"
cp "$W/scan.jpg" "$W/giay-khai-sinh-lan.jpg"
fm a dossier attach "$D" "$W/giay-khai-sinh-lan.jpg" --kind application_form >/dev/null 2>&1
fm a bundle export -o "$W/all.bundle" --with-attachments >/dev/null
fm b bundle import "$W/all.bundle" >/dev/null
fm c bundle import "$W/all.bundle" >/dev/null
fm b dossier attachments "$D" | grep -q "giay-khai-sinh-lan.jpg" || fail "b cannot read the sealed name"
fm b dossier attachment get "$D" 3 -o "$W/b3.jpg" >/dev/null
cmp -s "$W/scan.jpg" "$W/b3.jpg" || fail "b could not open the sealed scan"
fm c dossier attachments "$D" | grep -q "(sealed: Team 1)" ||
  fail "c should see the name sealed: $(fm c dossier attachments "$D")"
refused 1 "is sealed" fm c dossier attachment get "$D" 3 -o "$W/c3.jpg"
[ ! -e "$W/c3.jpg" ] || fail "c wrote a file it cannot open"
for f in "$W/c/store/data.mdb" "$W/all.bundle"; do
  ! grep -q "giay-khai-sinh-lan" "$f" || fail "$f holds the sealed name"
done
echo "ok"
