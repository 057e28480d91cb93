#!/usr/bin/env bash
# A record the gateway forwarded with placeholders goes upstream again,
# opened, once its key comes (docs/operations.md, "Corrections"), with
# real daemons, a real PostgreSQL, the HTTP receiver and a spool:
#   - a (Team 1, sealing) records a dossier, a visit and a scan of the
#     applicant's id card before it ever met anyone: they are sealed to a
#     alone;
#   - a meets h (Team 2) and stops; h brings them to the gateway g, whose
#     hold ([upstream] seal_hold_seconds = 2) runs out: every sink gets
#     them with "(sealed: Team 1)" and status counts them as waiting;
#   - a meets g: its daemon extends its grant to g, and g sends the three
#     entries again as a correction: the PostgreSQL rows now hold the
#     plaintext and the scan's file, the spool a "-resent" batch whose
#     lines say "resent": true and the file, the receiver one correction
#     of each under a key of its own, after the file;
#   - exactly once each, also after g restarts; no second receipt; the
#     laptops' view digests are those of before.
#
# usage: test_gateway_seal_late.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_gateway_seal_late.sh BIN_DIR}
NAME=test_gateway_seal_late
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CCCD=002190066666
PHONE=0987654321
CITIZEN="Hờ Thị Dua"

R="$W/receiver"
mkdir -p "$R"
printf 'ok\n' >"$R/mode"
HPORT=$NEXT_PORT WEB_G=$((NEXT_PORT + 1))
NEXT_PORT=$((NEXT_PORT + 2))
"$PY" "$HERE/receiver.py" "$HPORT" "$R" 2>>"$W/receiver.log" &
EXTRA_PIDS+=($!)
wait_for "the receiver to listen" test -e "$R/ready"
rstate() { "$PY" -c 'import json,sys; S=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$R/state.json" "$1"; }
no_violations() { [ ! -s "$R/violations" ] || fail "the receiver saw: $(head -n 5 "$R/violations")"; }

step "a commune: a (Team 1, sealing), h (Team 2), gateway g"
commune a:member:"Team 1" h:member:"Team 2" g:gateway:"Commune hall"
printf '[privacy]\nseal = yes\n' >"$W/a/fieldmeshd.conf"
pg_start

step "a records a sealed dossier and visit before it meets anyone"
D=$(fm a dossier add --procedure khai_sinh --applicant-name "$CITIZEN" --applicant-id $CCCD \
  --phone $PHONE --village "Nghĩa Tân" 2>"$W/a-err" | tail -n1)
grep -q "knows no gateway yet" "$W/a-err" || fail "no warning that the hall could not read it: $(cat "$W/a-err")"
V=$(fm a visit add --village "Nghĩa Tân" --mode home --citizens 1 --services account_created \
  --place "nhà bà $CITIZEN" 2>/dev/null | tail -n1)
"$PY" -c 'import random,sys; open(sys.argv[1],"wb").write(random.Random(7).randbytes(150000))' "$W/cccd.jpg"
H=$("$PY" -c 'import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],"rb").read(), digest_size=32).hexdigest())' "$W/cccd.jpg")
fm a dossier attach "$D" "$W/cccd.jpg" --kind id_card >/dev/null 2>&1

step "a meets h only, and stops"
conf a
conf h
conf g "[upstream]" "spool = $W/spool" "postgres = $(pg_conninfo)" \
  "http = http://127.0.0.1:$HPORT/batches" "http_token = s3cret-token" "linger_ms = 200" \
  "retry_min_ms = 200" "retry_max_ms = 800" "seal_hold_seconds = 2" \
  "[web]" "listen = 127.0.0.1:$WEB_G"
start h --config "$W/h.conf"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[h]}"
wait_for "a and h to agree" same_view a h
stop a

step "h brings them to g: past the hold they go upstream with placeholders"
start g --config "$W/g.conf"
stop h
start h --config "$W/h.conf" --peer "127.0.0.1:${PORT[g]}"
wait_for "h and g to agree" same_view h g
fm g dossier show "$D" | grep -qF "(sealed: Team 1)" || fail "g reads the dossier already: $(fm g dossier show "$D")"
placeholders() {
  local s
  for s in spool postgres http; do [ "$(sink_field g $s placeholders)" = "$1" ] || return 1; done
}
wait_for "every sink to hold the three entries with placeholders" placeholders 3
wait_for "the sinks to catch up" forwarded_all g spool postgres http
[ "$(pg_q "SELECT applicant_id FROM dossiers WHERE id = '$D'")" = "(sealed: Team 1)" ] ||
  fail "PostgreSQL's dossier row: $(pg_q "SELECT applicant_id FROM dossiers WHERE id = '$D'")"
grep -hF "\"$D\"" "$W"/spool/*.ndjson | grep -qF "(sealed: Team 1)" || fail "the spool's dossier is not sealed"
grep -qF "$CCCD" "$W"/spool/*.ndjson && fail "the spool holds the id number already"
[ "$(pg_q "SELECT count(*) FROM dossier_attachments WHERE dossier = '$D' AND hash IS NULL AND error IS NOT NULL")" = 1 ] ||
  fail "the scan's row: $(pg_q "SELECT * FROM dossier_attachments")"
[ -e "$W/spool/$H.scan" ] && fail "the spool holds the sealed scan's file already"
log_has g "entries go with placeholders" || fail "g did not log the placeholders"
fm g status | grep -qF "3 sent with placeholders" || fail "status: $(fm g status | grep forwarding)"
fm g doctor | grep -qF "records upstream with placeholders" || fail "doctor: $(fm g doctor)"
curl -fsS "http://127.0.0.1:$WEB_G/upstream?lang=en" | grep -qF "3 sent with placeholders, waiting for their key" ||
  fail "the Upstream page does not count them"
DIGEST=$(status_field h view_digest)
receipts_before=$(sink_field g postgres receipts)

step "a meets g: its extension comes, and g sends the three entries again, opened"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[g]}"
g_reads() { fm g dossier show "$D" 2>/dev/null | grep -qF $CCCD; }
wait_for "g to read a's dossier" g_reads
wait_for "every sink to be corrected" placeholders 0
for s in spool postgres http; do
  [ "$(sink_field g $s corrected)" = 3 ] || fail "$s: $(sink_field g $s corrected) corrected"
done
wait_for "the sinks to catch up" forwarded_all g spool postgres http
log_has g "3 entries sent again as corrections" || fail "g did not log the corrections: $(grep -F corrections "$W/g.log" || true)"
page=$(curl -fsS "http://127.0.0.1:$WEB_G/upstream?lang=en")
printf '%s' "$page" | grep -qF "3 corrected" || fail "the Upstream page does not count the corrections"
printf '%s' "$page" | grep -qF "sent with placeholders" && fail "the Upstream page still counts placeholders"

step "PostgreSQL: the rows hold the plaintext, once"
[ "$(pg_q "SELECT applicant_name || '|' || applicant_id || '|' || phone FROM dossiers WHERE id = '$D'")" = \
  "$CITIZEN|$CCCD|$PHONE" ] || fail "PostgreSQL's dossier row: $(pg_q "SELECT * FROM dossiers WHERE id = '$D'")"
[ "$(pg_q "SELECT place FROM visits WHERE id = '$V'")" = "nhà bà $CITIZEN" ] || fail "PostgreSQL's visit row"
[ "$(pg_q "SELECT count(*) FROM dossiers WHERE id = '$D'")" = 1 ] || fail "the dossier has several rows"
[ "$(pg_q "SELECT hash || '|' || name || '|' || a.size FROM dossier_attachments d JOIN attachments a USING (hash) WHERE dossier = '$D'")" = \
  "$H|cccd.jpg|150000" ] || fail "the scan's row: $(pg_q "SELECT * FROM dossier_attachments")"
[ "$(pg_q "SELECT count(*) FROM dossier_attachments WHERE dossier = '$D'")" = 1 ] || fail "the scan has several rows"

step "spool: one correction batch, its lines marked resent"
resent=$(ls "$W"/spool/*-resent.ndjson 2>/dev/null | wc -l)
[ "$resent" = 1 ] || fail "$resent correction files in the spool"
head -n1 "$W"/spool/*-resent.ndjson | grep -qF '"resent":true' || fail "the correction's header is not marked: $(head -c 600 "$W"/spool/*-resent.ndjson)"
[ "$(grep -c '"kind":' "$W"/spool/*-resent.ndjson)" -ge 2 ] || fail "the correction lacks its entries"
grep -F '"kind":"dossier"' "$W"/spool/*-resent.ndjson | grep -qF '"resent":true' || fail "the entry line is not marked resent"
grep -hF "\"$D\"" "$W"/spool/*-resent.ndjson | grep -qF "$CCCD" || fail "the correction's dossier lacks the id number"
grep -hF "\"$V\"" "$W"/spool/*-resent.ndjson | grep -qF "nhà bà $CITIZEN" || fail "the correction's visit lacks the place"
grep -F '"kind":"dossier.attach"' "$W"/spool/*-resent.ndjson | grep -qF "\"file\":\"$H.scan\"" || fail "the correction's attach line lacks the file"
cmp "$W/cccd.jpg" "$W/spool/$H.scan" || fail "the spool's $H.scan is not the file"

step "HTTP: one correction of each, under a key of its own"
no_violations
[ "$(rstate 'sum(S["corrected"].values())')" = 3 ] || fail "the receiver has $(rstate 'S["corrected"]')"
cmp "$W/cccd.jpg" "$R/attachments/$H" || fail "the receiver's $H is not the file"
grep -lF '"resent": true' "$R"/batches/*.json | xargs grep -lF "$CCCD" >/dev/null ||
  fail "no correction batch with the id number reached the receiver"

step "after a restart of g, nothing is sent again"
stop g
start g --config "$W/g.conf"
sleep 3
wait_for "the sinks to catch up" forwarded_all g spool postgres http
[ "$(ls "$W"/spool/*-resent.ndjson | wc -l)" = 1 ] || fail "a second correction in the spool"
[ "$(rstate 'sum(S["corrected"].values())')" = 3 ] || fail "the receiver has $(rstate 'S["corrected"]')"
placeholders 0 || fail "placeholders after the restart"
[ "$(sink_field g http corrected)" = 3 ] || fail "corrected after the restart: $(sink_field g http corrected)"
no_violations

step "no second receipt; the laptops' views are those of before"
dup=$(pg_q "SELECT count(*) FROM (SELECT g->>0, (i->>0)::bigint, count(*) FROM entries e,
        jsonb_array_elements(e.body->'items') g, jsonb_array_elements(g->1) i
        WHERE e.kind = 'receipt' GROUP BY e.body->>'sink', 1, 2 HAVING count(*) > 1) d")
[ "$dup" = 0 ] || fail "$dup entries have more than one receipt from a sink"
[ "$(sink_field g postgres receipts)" -ge "$receipts_before" ] || fail "receipts went down"
wait_for "the three laptops to agree" same_view a h g
[ "$(status_field h view_digest)" = "$DIGEST" ] || fail "h's view digest changed"
fm h dossier show "$D" | grep -q "id number.*(sealed: Team 1)" || fail "h reads a's dossier: $(fm h dossier show "$D")"
echo "ok"
