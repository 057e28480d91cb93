#!/usr/bin/env bash
# A laptop restored from an old backup, written to offline, then synced,
# with real daemons on loopback (a - b - g, g a gateway with a spool):
#   - a's 15 records reach b and the gateway; a's state folder is then
#     replaced by a copy taken when it had 5;
#   - offline, a member records a visit and a dossier on a: they take
#     numbers 6 and 7 of a's log, which the mesh already holds with other
#     records (a's log forked);
#   - a meets b: it gets all of its 15 records back, both branches are
#     kept as evidence on a and on b, and the two records written offline
#     are recorded again at the head of a's log (same ids, marked
#     restored), reach b and the gateway's spool;
#   - both laptops and the gateway converge (equal view digests), verify
#     passes everywhere, doctor on a explains in plain words.
#
# usage: test_restored_fork.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_restored_fork.sh BIN_DIR}
NAME=test_restored_fork
# shellcheck source=../gateway/lib.sh
. "$(dirname "$0")/../gateway/lib.sh"

own_is() { [ "$(status_field "$1" self_seq)" = "$2" ]; }
visits_are() { [ "$(status_field "$1" visits)" = "$2" ]; }
holds_record() { fm "$1" "$2" list --json | grep -qF "\"$3\""; }
in_spool() { grep -rqF -- "$1" "$W/spool"; }

step "a commune: laptops a and b, gateway g; a - b - g"
commune a:member:"Team 1" b:member:"Team 1" g:gateway:"Commune hall"
conf g "[upstream]" "spool = $W/spool" "linger_ms = 200" "batch_entries = 50"
conf a
conf b
start g --config "$W/g.conf"
start b --config "$W/b.conf" --peer "127.0.0.1:${PORT[g]}"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[b]}"
for i in 1 2 3 4 5; do visit a "Nghĩa Tân" "$i"; done
wait_for "a's 5 records on b and g" same_view a b g

step "a's state folder copied at 5 records; 10 more reach the mesh"
stop a
cp -a "$W/a" "$W/a.backup"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[b]}"
for i in 1 2 3 4 5 6 7 8 9 10; do visit a "Vinh Quang" "$i"; done
own_is a 15 || fail "a does not hold its 15 records: $(fm a status --json)"
wait_for "a's 15 records on b and g" same_view a b g
stop a

step "a restored from the copy; offline, a member records a visit and a dossier"
rm -rf "$W/a"
cp -a "$W/a.backup" "$W/a"
own_is a 5 || fail "the restored copy does not hold 5 records: $(fm a status --json)"
V=$(fm a visit add --village "Xuân Hòa" --mode home --services account_created --citizens 42 | tail -n1)
D=$(fm a dossier add --procedure chung_thuc --applicant-name "Sùng A Páo" --village "Xuân Hòa" | tail -n1)
own_is a 7 || fail "the offline records are not numbers 6 and 7: $(fm a status --json)"

step "a meets b: its log comes back, the offline records go out again"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[b]}"
wait_for "a to hold its 15 records and the 2 recorded again" own_is a 17
wait_for "the offline visit on b" holds_record b visit "$V"
wait_for "the offline dossier on b" holds_record b dossier "$D"
wait_for "a, b and g to agree" same_view a b g
visits_are a 16 || fail "a does not hold its 15 earlier visits and the offline one: $(fm a status --json)"
wait_for "the spool to catch up" forwarded_all g spool
in_spool "$V" || fail "the offline visit $V did not reach the gateway's spool"
in_spool "$D" || fail "the offline dossier $D did not reach the gateway's spool"
in_spool '"restored_from":6' || fail "the spool does not show the visit as restored from number 6"

step "both branches kept as evidence; verify and doctor"
[ "$(status_field a restored)" = 2 ] && [ "$(status_field a restored_pending)" = 0 ] ||
  fail "status on a does not count 2 records written again: $(fm a status --json)"
[ "$(status_field a quarantined)" -ge 2 ] || fail "a keeps no evidence of its lost branch: $(fm a status --json)"
[ "$(status_field b quarantined)" -ge 1 ] || fail "b keeps no evidence of a's fork: $(fm b status --json)"
for n in a b g; do fm "$n" verify >/dev/null || fail "verify on $n: $(fm "$n" verify 2>&1)"; done
out=$(fm a doctor) || true
for t in "restored from a backup" "2 records written on it after the restore were recorded again"; do
  case "$out" in *"$t"*) ;; *) fail "doctor on a does not say \"$t\": $out" ;; esac
done
case "$out" in *"own records forked"*|*"will not catch up"*)
  fail "doctor on a still speaks of a fork that healed: $out" ;; esac
log_has a "2 records written after the restore were written again" ||
  fail "a's daemon does not log the records written again"

step "a restart changes nothing: nothing is recorded twice"
stop a
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[b]}"
live() { fm "$1" peers --json | grep -q '"state":"live"'; }
wait_for "a and b live again" live a
own_is a 17 || fail "a wrote again after a restart: $(fm a status --json)"
wait_for "a, b and g to agree" same_view a b g
stop a
stop b
stop g
echo "$NAME: ok"
