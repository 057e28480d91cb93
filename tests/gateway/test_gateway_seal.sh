#!/usr/bin/env bash
# Sealed personal fields with real daemons (docs/privacy.md):
#   - a Team 1 laptop with [privacy] seal = yes records a dossier and a
#     visit; they reach a Team 2 laptop and the gateway over sync;
#   - the Team 2 laptop's data.mdb holds none of the citizen's name, id
#     number or phone bytes and shows "(sealed: Team 1)";
#   - the gateway forwards them in the clear: the spool's records and the
#     PostgreSQL dossiers and visits rows hold the plaintext;
#   - the three laptops keep one view digest;
#   - a dossier a sealed before it ever met anyone (sealed to itself
#     only, with a warning) reaches the gateway in the clear all the same:
#     a's daemon extends its grant once it learns of the gateway, and the
#     gateway holds the batch until the key comes.
#
# usage: test_gateway_seal.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_gateway_seal.sh BIN_DIR}
NAME=test_gateway_seal
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CCCD=002190012345
PHONE=0912345678
CITIZEN="Vàng Thị Mỷ"

step "a commune: a (Team 1, sealing), h (Team 2), gateway g"
commune a:member:"Team 1" h:member:"Team 2" g:gateway:"Commune hall"
printf '[privacy]\nseal = yes\n' >"$W/a/fieldmeshd.conf"
pg_start

step "before any sync, a records a sealed dossier: it knows no reader but itself"
D0=$(fm a dossier add --procedure cu_tru --applicant-name "Lò Văn Pó" --applicant-id 002190077777 \
  --village "Nghĩa Tân" 2>"$W/a-err" | tail -n1)
grep -q "knows no gateway yet" "$W/a-err" || fail "no warning that the hall could not read it: $(cat "$W/a-err")"

step "the three meet (a learns its readers), then a records a sealed dossier and visit"
WEB_G=$NEXT_PORT WEB_H=$((NEXT_PORT + 1))
NEXT_PORT=$((NEXT_PORT + 2))
conf g "[upstream]" "spool = $W/spool" "postgres = $(pg_conninfo)" "linger_ms = 200" \
  "[web]" "listen = 127.0.0.1:$WEB_G"
conf a
conf h "[web]" "listen = 127.0.0.1:$WEB_H"
start g --config "$W/g.conf"
start h --config "$W/h.conf" --peer "127.0.0.1:${PORT[g]}"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[g]}"
wait_for "the three laptops to agree" same_view a h g
g_reads_d0() { fm g dossier show "$D0" | grep -qF 002190077777; }
wait_for "a's daemon to extend its grant to the gateway" g_reads_d0
log_has a "extended 1 key grant" || fail "a's daemon did not log the extension"
D=$(fm a dossier add --procedure khai_sinh --applicant-name "$CITIZEN" --applicant-id $CCCD \
  --phone $PHONE --village "Nghĩa Tân" | tail -n1)
V=$(fm a visit add --village "Nghĩa Tân" --mode home --citizens 2 --services account_created \
  --place "nhà bà $CITIZEN" | tail -n1)
has_d() { fm "$1" dossier show "$D" >/dev/null 2>&1 && fm "$1" visit show "$V" >/dev/null 2>&1; }
wait_for "h to hold them" has_d h
wait_for "g to hold them" has_d g
wait_for "the three laptops to agree" same_view a h g
wait_for "the sinks to catch up" forwarded_all g spool postgres

step "dashboards: the gateway's shows the applicant, Team 2's shows it sealed"
curl -fsS "http://127.0.0.1:$WEB_G/records/$D" | grep -qF "$CITIZEN" || fail "the gateway's dashboard lacks the name"
curl -fsS "http://127.0.0.1:$WEB_G/records?kind=dossiers" | grep -qF "$CITIZEN" || fail "the gateway's list lacks the name"
page=$(curl -fsS "http://127.0.0.1:$WEB_H/records/$D")
printf '%s' "$page" | grep -qF "(sealed: Team 1)" || fail "Team 2's dashboard does not say sealed"
printf '%s' "$page" | grep -qF "$CITIZEN" && fail "Team 2's dashboard shows the name"

step "Team 2 holds no citizen bytes and shows the fields sealed"
stop h
for secret in $CCCD $PHONE "$CITIZEN"; do
  grep -aqF -- "$secret" "$W/h/store/data.mdb" && fail "h's data.mdb holds \"$secret\""
done
fm h dossier show "$D" | grep -q "id number.*(sealed: Team 1)" || fail "h: $(fm h dossier show "$D")"

step "the gateway's sinks hold the plaintext"
grep -hF "\"$D\"" "$W"/spool/*.ndjson | grep -qF "$CCCD" || fail "the spool's dossier lacks the id number"
grep -hF "\"$V\"" "$W"/spool/*.ndjson | grep -qF "nhà bà $CITIZEN" || fail "the spool's visit lacks the place"
[ "$(pg_q "SELECT applicant_name || '|' || applicant_id || '|' || phone FROM dossiers WHERE id = '$D'")" = \
  "$CITIZEN|$CCCD|$PHONE" ] || fail "PostgreSQL's dossier row: $(pg_q "SELECT * FROM dossiers WHERE id = '$D'")"
[ "$(pg_q "SELECT place FROM visits WHERE id = '$V'")" = "nhà bà $CITIZEN" ] || fail "PostgreSQL's visit row"
fm g dossier show "$D" | grep -qF "$CCCD" || fail "the gateway's own CLI does not read it"
[ "$(pg_q "SELECT applicant_id FROM dossiers WHERE id = '$D0'")" = 002190077777 ] ||
  fail "the dossier sealed before the first sync went upstream as: $(pg_q "SELECT applicant_id FROM dossiers WHERE id = '$D0'")"
grep -hF "\"$D0\"" "$W"/spool/*.ndjson | grep -qF 002190077777 || fail "the spool has the early dossier sealed"
[ "$(fm h dossier show "$D0" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["applicant"]["id_number"])')" = "(sealed: Team 1)" ] ||
  fail "Team 2 reads the early dossier"
echo "ok"
