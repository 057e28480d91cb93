#!/usr/bin/env bash
# A lost laptop's sealed records still reach the commune hall
# (docs/privacy.md, "A lost laptop's keys"), with real daemons:
#   - a (Team 1, sealing) and its teammate t meet; a records a sealed
#     dossier and visit, readable by a and t only (no gateway is enrolled
#     yet), and t receives them;
#   - a is lost: its state folder is deleted, and the authority revokes it
#     and enrolls the gateway g;
#   - g meets t only: t's daemon extends a's grant to g (a `seal.extend`
#     entry of t's log), and g reads the citizen's name and forwards it in
#     the clear: the spool holds the plaintext;
#   - a Team 2 laptop that syncs with them still reads nothing.
#
# usage: test_gateway_seal_lost.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_gateway_seal_lost.sh BIN_DIR}
NAME=test_gateway_seal_lost
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CCCD=002190054321
CITIZEN="Giàng Thị Sùng"

step "a commune: a and t (Team 1; a seals), h (Team 2); no gateway yet"
commune a:member:"Team 1" t:member:"Team 1" h:member:"Team 2"
printf '[privacy]\nseal = yes\n' >"$W/a/fieldmeshd.conf"
conf a
conf t
conf h
start t --config "$W/t.conf"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[t]}"
wait_for "a and t to agree" same_view a t

step "a records a sealed dossier and visit; t receives them"
D=$(fm a dossier add --procedure khai_sinh --applicant-name "$CITIZEN" --applicant-id $CCCD \
  --village "Nghĩa Tân" 2>"$W/a-err" | tail -n1)
grep -q "knows no gateway yet" "$W/a-err" || fail "no warning that the hall could not read it: $(cat "$W/a-err")"
V=$(fm a visit add --village "Nghĩa Tân" --mode home --citizens 1 --services account_created \
  --place "nhà bà $CITIZEN" 2>/dev/null | tail -n1)
t_reads() { fm t dossier show "$D" 2>/dev/null | grep -qF $CCCD && fm t visit show "$V" 2>/dev/null | grep -qF "$CITIZEN"; }
wait_for "t to hold and read them" t_reads

step "a is lost: its state is gone; the authority revokes it and enrolls the gateway"
stop a
rm -rf "${W:?}/a"
stop t
carry t auth >/dev/null
fm auth revoke "$(cat "$W/a.id")" --yes >/dev/null
fm g init | tail -n1 >"$W/g.id"
fm auth enroll "$(cat "$W/g.id")" --name "Máy g" --team "Commune hall" --role gateway \
  --villages "Nghĩa Tân,Vinh Quang,Xuân Hòa" -o "$W/g.join" >/dev/null
fm g join "$W/g.join" >/dev/null
fm auth bundle export -o "$W/auth.bundle" >/dev/null
fm g bundle import "$W/auth.bundle" >/dev/null
conf g "[upstream]" "spool = $W/spool" "linger_ms = 200"

step "g meets t: t extends a's grant, g reads and forwards the citizen's data"
start g --config "$W/g.conf"
start t --config "$W/t.conf" --peer "127.0.0.1:${PORT[g]}"
start h --config "$W/h.conf" --peer "127.0.0.1:${PORT[g]}"
g_reads() { fm g dossier show "$D" 2>/dev/null | grep -qF $CCCD; }
wait_for "g to read a's dossier" g_reads
log_has t "extended 1 key grant of other laptops' sealed fields" ||
  fail "t's daemon did not log the extension: $(grep -F extended "$W/t.log" || true)"
fm g visit show "$V" | grep -qF "nhà bà $CITIZEN" || fail "g does not read a's visit"
spooled() { grep -hF "\"$D\"" "$W"/spool/*.ndjson 2>/dev/null | grep -qF $CCCD; }
wait_for "the spool to hold a's dossier in the clear" spooled
grep -hF "\"$D\"" "$W"/spool/*.ndjson | grep -qF "$CITIZEN" || fail "the spool's dossier lacks the name"
grep -hF "\"$V\"" "$W"/spool/*.ndjson | grep -qF "nhà bà $CITIZEN" || fail "the spool's visit lacks the place"

step "Team 2 still reads nothing of it"
h_has() { fm h dossier show "$D" >/dev/null 2>&1; }
wait_for "h to hold the dossier" h_has
wait_for "the three laptops to agree" same_view t g h
fm h dossier show "$D" | grep -q "id number.*(sealed: Team 1)" || fail "h: $(fm h dossier show "$D")"
stop h
for secret in $CCCD "$CITIZEN"; do
  grep -aqF -- "$secret" "$W/h/store/data.mdb" && fail "h's data.mdb holds \"$secret\""
done
echo "ok"
