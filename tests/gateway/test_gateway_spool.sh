#!/usr/bin/env bash
# The gateway with a spool folder, end to end with real daemons:
#   - three in a line, A - B - G (A knows only B, B knows G): what A
#     records reaches the gateway two hops away and is written to the
#     spool, one NDJSON file per batch, every entry exactly once;
#   - the gateway's receipt comes back through B to A: `dossier show` on A
#     says delivered, `status` on A says nothing waits for a receipt;
#   - receipts change no view: all three keep the same view digest;
#   - a laptop enrolled as member with an [upstream] section is refused,
#     and so is a bad [upstream] value.
#
# usage: test_gateway_spool.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_gateway_spool.sh BIN_DIR}
NAME=test_gateway_spool
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

step "a commune: laptops a and b, gateway g"
commune a:member:"Team 1" b:leader:"Team 1" g:gateway:"Commune hall"
fm a visit add --village "Nghĩa Tân" --mode home --citizens 3 --services account_created >/dev/null
D=$(fm a dossier add --procedure chung_thuc --applicant-name "Sùng A Páo" --village "Nghĩa Tân" | tail -n1)
fm a dossier status "$D" submitted --ref "000.00.12.H10-231114-0001" >/dev/null

step "refusals: [upstream] on a member's laptop, a bad [upstream] value"
conf a "[upstream]" "spool = $W/nope"
rc=0
out=$("$FMD" --state "$W/a" --config "$W/a.conf" --listen 127.0.0.1:1 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "a member's laptop with [upstream]: exit $rc, expected 1"
case "$out" in *"enrolled as member, not gateway"*) ;; *) fail "the refusal does not say why: $out" ;; esac
conf g "[upstream]" "spool = $W/spool" "batch_entries = lots"
rc=0
out=$("$FMD" --state "$W/g" --config "$W/g.conf" 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "a bad [upstream] value: exit $rc, expected 2"
case "$out" in *"[upstream] batch_entries = \"lots\""*"whole number"*) ;;
  *) fail "the config error does not name section, key, value and fix: $out" ;; esac

step "before the gateway: a's entries wait for a receipt"
[ "$(status_field a waiting_receipt)" = 3 ] || fail "a should have 3 entries waiting: $(fm a status --json)"
fm a dossier show "$D" | grep -q "not delivered yet" || fail "dossier show should say not delivered: $(fm a dossier show "$D")"

step "a - b - g in a line; the gateway writes the spool"
conf g "[upstream]" "spool = $W/spool" "linger_ms = 200" "batch_entries = 50"
conf a
conf b
start g --config "$W/g.conf"
start b --config "$W/b.conf" --peer "127.0.0.1:${PORT[g]}"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[b]}"
"$BIN/fm-fill" "$W/a" 120 >/dev/null   # a backlog: several batches
own_a() { [ "$(status_field a self_seq)" = 123 ]; }
wait_for "fm-fill's entries to be a's" own_a
wait_for "the three laptops to agree" same_view a b g
wait_for "the spool to catch up" forwarded_all g spool

step "the receipt reaches a, two hops from the gateway"
delivered() { fm a dossier show "$D" --json | "$PY" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["upstream"]["delivered"] else 1)'; }
wait_for "a's dossier to show delivered" delivered
out=$(fm a dossier show "$D")
printf '%s\n' "$out" | grep -q "^upstream .*delivered: a gateway's receipt names each of its" ||
  fail "dossier show does not say delivered: $out"
printf '%s\n' "$out" | grep -q "dossier.status .*spool, 20" || fail "no receipt line for the status: $out"
wait_for "a's own entries all receipted" none_waiting a
fm a status | grep -q "^upstream *0 of this laptop's 123 entries" ||
  fail "status does not say 0 waiting: $(fm a status)"

step "every entry in the spool exactly once; receipts once per entry"
read -r lines unique dups receipted plain < <("$PY" "$HERE/check.py" spool "$W/spool")
total=$(status_field g entries)
[ "$lines" = "$total" ] || fail "$lines entry lines in the spool, the gateway holds $total"
[ "$unique" = "$lines" ] || fail "$((lines - unique)) entries written twice"
[ "$dups" = 0 ] || fail "$dups entries receipted twice"
[ "$receipted" = "$plain" ] || fail "$receipted entries receipted, $plain forwarded (receipts aside)"
! compgen -G "$W/spool/.tmp-*" >/dev/null || fail "a temporary file was left in the spool"
wait_for "the same view on all three" same_view a b g
fm g verify >/dev/null || fail "verify on the gateway"
fm a verify >/dev/null || fail "verify on a"
fm g status | grep -q "^forwarding *spool $W/spool: 0 entries waiting" || fail "gateway status: $(fm g status)"

step "the report on the gateway covers the commune"
fm g report --by village --procedure chung_thuc --json | grep -q '"dossiers":1' ||
  fail "report --procedure: $(fm g report --by village --procedure chung_thuc --json)"

stop a
stop b
stop g
echo "$NAME: ok ($lines entries, $receipted receipted)"
