#!/usr/bin/env bash
# Scans upstream (docs/operations.md "Scans upstream"), with real daemons,
# a real PostgreSQL and tests/gateway/receiver.py:
#   - laptop a (sealing on) attaches a 400 KB scan, laptop b (sealing off)
#     a 300 KB one; a syncs only with b, b with the gateway g;
#   - g forwards both to a spool folder, PostgreSQL and HTTP: the bytes
#     upstream are the files' (cmp), named by their BLAKE2b-256, the
#     sealed one's name opened; the entries' receipts reach laptop a;
#   - g restarted: no second file, row or PUT;
#   - laptop c's attach entry reaches g by a bundle without its chunks:
#     it is not forwarded, nor c's later visit, and status and doctor say
#     it waits for chunks; c's earlier dossier goes; once c syncs with g,
#     the chunks come and both go.
#
# usage: test_gateway_scan.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_gateway_scan.sh BIN_DIR}
NAME=test_gateway_scan
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

R="$W/receiver"
mkdir -p "$R"
HPORT=$NEXT_PORT
NEXT_PORT=$((NEXT_PORT + 1))
rstate() { "$PY" -c 'import json,sys; S=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$R/state.json" "$1"; }
no_violations() { [ ! -s "$R/violations" ] || fail "the receiver saw: $(head -n 5 "$R/violations")"; }
# scan FILE SIZE SEED: SIZE bytes of seeded noise.
scan() { "$PY" -c 'import random,sys; r=random.Random(int(sys.argv[3])); open(sys.argv[1],"wb").write(r.randbytes(int(sys.argv[2])))' "$@"; }
b2() { "$PY" -c 'import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],"rb").read(), digest_size=32).hexdigest())' "$1"; }
# The attach entry of dossier $2 on laptop $1, receipted by every sink.
receipted_3() {
  fm "$1" dossier show "$2" --json | "$PY" -c '
import json, sys
u = json.load(sys.stdin)["upstream"]
rows = [r for r in u["entries"] if r["kind"] == "dossier.attach" and r["receipted"]]
sys.exit(0 if rows and all(s in rows[0]["sinks"] for s in ("spool", "postgres", "http")) else 1)'
}
# Where each sink holds the scan of hash $1, checked against file $2.
upstream_has() {
  local h=$1 f=$2
  cmp "$f" "$W/spool/$h.scan" || fail "the spool's $h.scan is not the file"
  pg_q "SELECT encode(content, 'base64') FROM attachments WHERE hash = '$h'" | base64 -d >"$W/pg-$h"
  cmp "$f" "$W/pg-$h" || fail "PostgreSQL's attachment $h is not the file"
  cmp "$f" "$R/attachments/$h" || fail "the HTTP endpoint's $h is not the file"
}

step "a commune: a (Team 1, sealing), b and c (Team 1), gateway g; PostgreSQL, an HTTP endpoint"
commune a:member:"Team 1" b:member:"Team 1" c:member:"Team 1" g:gateway:"Commune hall"
printf '[privacy]\nseal = yes\n' >"$W/a/fieldmeshd.conf"
pg_start
"$PY" "$HERE/receiver.py" "$HPORT" "$R" 2>>"$W/receiver.log" &
EXTRA_PIDS+=($!)
wait_for "the receiver to listen" test -e "$R/ready"
conf g "[upstream]" "spool = $W/spool" "postgres = $(pg_conninfo)" \
  "http = http://127.0.0.1:$HPORT/fieldmesh/batches" "http_token = s3cret-token" \
  "linger_ms = 200" "retry_min_ms = 200" "retry_max_ms = 800"
conf a
conf b
conf c
start g --config "$W/g.conf"
start b --config "$W/b.conf" --peer "127.0.0.1:${PORT[g]}"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[b]}"

step "a records a sealed dossier; the gateway, two hops away, comes to read it"
D=$(fm a dossier add --procedure khai_sinh --applicant-name "Vàng Thị Mỷ" --applicant-id 002190012345 \
  --village "Nghĩa Tân" 2>/dev/null | tail -n1)
g_reads() { fm g dossier show "$D" 2>/dev/null | grep -qF 002190012345; }
wait_for "g to read a's sealed dossier" g_reads

step "a attaches a 400 KB scan (sealed), b a 300 KB one (clear)"
scan "$W/cccd.jpg" 400000 1
scan "$W/so-ho-khau.jpg" 300000 2
fm a dossier attach "$D" "$W/cccd.jpg" --kind id_card >/dev/null
D2=$(fm b dossier add --procedure cu_tru --applicant-name "Lò Văn Pó" --village "Vinh Quang" | tail -n1)
fm b dossier attach "$D2" "$W/so-ho-khau.jpg" --kind household_book >/dev/null
H1=$(b2 "$W/cccd.jpg")
H2=$(b2 "$W/so-ho-khau.jpg")
grep -aqF "cccd.jpg" "$W/a/store/data.mdb" && fail "a's store holds the sealed scan's name in the clear"

wait_for "the three laptops to agree" same_view a b g
wait_for "the sinks to catch up" forwarded_all g spool postgres http
wait_for "the receipt of a's scan to reach a" receipted_3 a "$D"
wait_for "the receipt of b's scan to reach b" receipted_3 b "$D2"
[ "$(sink_field g spool scans_waiting)" = 0 ] || fail "status says scans wait: $(fm g status)"

step "each sink holds each scan, byte for byte, named by its hash"
upstream_has "$H1" "$W/cccd.jpg"
upstream_has "$H2" "$W/so-ho-khau.jpg"
no_violations
line=$(grep -h '"kind":"dossier.attach"' "$W"/spool/*.ndjson | grep -F "\"$H1\"") ||
  fail "no NDJSON line names $H1"
for want in "\"file\":\"$H1.scan\"" '"name":"cccd.jpg"' '"size":400000' '"kind":"id_card"' "\"dossier\":\"$D\""; do
  printf '%s' "$line" | grep -qF -- "$want" || fail "the attach line lacks $want: $line"
done
[ "$(pg_q "SELECT d.dossier || '|' || d.kind || '|' || d.name || '|' || d.size || '|' || a.size
           FROM dossier_attachments d JOIN attachments a USING (hash) WHERE hash = '$H1'")" = \
  "$D|id_card|cccd.jpg|400000|400000" ] || fail "PostgreSQL's link row: $(pg_q "SELECT * FROM dossier_attachments")"
[ "$(pg_q "SELECT dossier FROM dossier_attachments WHERE hash = '$H2'")" = "$D2" ] || fail "b's link row"
[ "$(rstate "S['scans_named'] and sorted(s['name'] for s in S['scans_named'].values())")" = \
  "['cccd.jpg', 'so-ho-khau.jpg']" ] || fail "the HTTP batches name: $(rstate "S['scans_named']")"

step "the gateway restarted: no second file, row or PUT"
ino=$(stat -c %i "$W/spool/$H1.scan")
stop g
# On a new port: g dials b this time.
start g --config "$W/g.conf" --peer "127.0.0.1:${PORT[b]}"
fm a visit add --village "Nghĩa Tân" --mode home --citizens 1 --services account_created >/dev/null
wait_for "the new visit to reach g" same_view a b g
wait_for "the sinks to catch up" forwarded_all g spool postgres http
[ "$(stat -c %i "$W/spool/$H1.scan")" = "$ino" ] || fail "the spool's scan was written again"
[ "$(ls "$W"/spool/*.scan | wc -l)" = 2 ] || fail "the spool holds $(ls "$W"/spool/*.scan | wc -l) scans"
[ "$(grep -hc "\"$H1\"" "$W"/spool/*.ndjson | awk "{s+=\$1} END {print s}")" = 1 ] || fail "$H1 is named in more than one NDJSON line"
[ "$(pg_q "SELECT count(*) FROM attachments")|$(pg_q "SELECT count(*) FROM dossier_attachments")" = "2|2" ] ||
  fail "PostgreSQL holds $(pg_q "SELECT count(*) FROM attachments") attachments"
[ "$(rstate "sorted(S['puts'].values())")" = "[1, 1]" ] || fail "PUTs: $(rstate "S['puts']")"
no_violations

step "c's attach entry reaches g without its chunks: it waits, and c's later visit behind it"
D3=$(fm c dossier add --procedure khai_tu --applicant-name "Lý Văn Tả" --village "Xuân Hòa" | tail -n1)
scan "$W/don.pdf" 250000 3
fm c dossier attach "$D3" "$W/don.pdf" --kind application_form >/dev/null
V3=$(fm c visit add --village "Xuân Hòa" --mode home --citizens 3 --services account_created | tail -n1)
H3=$(b2 "$W/don.pdf")
fm c bundle export -o "$W/c.bundle" >/dev/null
fm g bundle import "$W/c.bundle" >/dev/null
waiting() { [ "$(sink_field g "$1" scans_waiting)" = 1 ]; }
for s in spool postgres http; do wait_for "$s to say a scan waits" waiting "$s"; done
d3_up() { [ "$(pg_q "SELECT count(*) FROM dossiers WHERE id = '$D3'")" = 1 ]; }
wait_for "c's dossier, before the scan, to go upstream" d3_up
sleep 2
[ "$(pg_q "SELECT count(*) FROM visits WHERE id = '$V3'")" = 0 ] || fail "c's visit went before its scan"
[ "$(pg_q "SELECT count(*) FROM dossier_attachments WHERE dossier = '$D3'")" = 0 ] || fail "c's scan went without its file"
grep -qh "\"$D3\".*dossier.attach\|dossier.attach.*\"$D3\"" "$W"/spool/*.ndjson && fail "the spool got c's attach entry"
[ "$(rstate "len(S['puts'])")" = 2 ] || fail "the endpoint got a third scan"
fm g status | grep -q "WAITING FOR CHUNKS: 1 scan not on this gateway in full yet (it: seq 2 of Máy c (Team 1), 5 chunks missing)" ||
  fail "status does not say it waits: $(fm g status)"
fm g doctor | grep -q "scans waiting for chunks" || fail "doctor does not say it: $(fm g doctor || true)"

step "c meets g: the chunks come, the scan and the visit go"
start c --config "$W/c.conf" --peer "127.0.0.1:${PORT[g]}"
wait_for "the sinks to catch up" forwarded_all g spool postgres http
upstream_has "$H3" "$W/don.pdf"
[ "$(pg_q "SELECT count(*) FROM visits WHERE id = '$V3'")" = 1 ] || fail "c's visit did not follow"
[ "$(sink_field g spool scans_waiting)" = 0 ] || fail "status still says a scan waits"
wait_for "the receipt of c's scan to reach c" receipted_3 c "$D3"
no_violations
[ "$(rstate "sorted(S['puts'].values())")" = "[1, 1, 1]" ] || fail "PUTs: $(rstate "S['puts']")"
stop a
stop b
stop c
stop g
echo "$NAME: ok"
