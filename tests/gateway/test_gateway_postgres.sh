#!/usr/bin/env bash
# The gateway with a real PostgreSQL server (started here, in the test's
# folder, on a Unix socket) and a spool folder at once:
#   - after sync, every entry is in `entries` exactly once, and the
#     `dossiers` and `visits` tables match what `fieldmesh dossier list`
#     and `visit list` say on the gateway; the schema is versioned;
#   - PostgreSQL stopped for a while: entries pile up (status says how
#     many and why), the spool goes on, nothing is lost, and all arrive
#     once the server is back;
#   - the gateway killed with SIGKILL at random points while it forwards,
#     FM_GW_KILLS times (12 by default), restarted each time with more
#     entries waiting: at the end both sinks hold every entry exactly
#     once, and every entry has exactly one receipt per sink.  How many
#     restarts delivered a batch again (killed between delivery and
#     commit, the at-least-once gap) is printed.
#
# usage: test_gateway_postgres.sh BIN_DIR      (fieldmesh, fieldmeshd, fm-fill)
set -euo pipefail
BIN=${1:?usage: test_gateway_postgres.sh BIN_DIR}
NAME=test_gateway_postgres
KILLS=${FM_GW_KILLS:-12}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

step "PostgreSQL in the test's folder"
pg_start

step "a commune: laptops a (Team 1) and b (Team 2), gateway g"
commune a:member:"Team 1" b:member:"Team 2" g:gateway:"Commune hall"
fm a visit add --village "Nghĩa Tân" --mode home --citizens 3 --services account_created,eid_activated \
  --place "nhà ông Sùng A Chứ" --note 'a "quoted" note, a back\slash, a tab	and a newline
here' >/dev/null
D1=$(fm a dossier add --procedure chung_thuc --applicant-name "Sùng A Páo" --applicant-id 002085001234 \
  --phone 0912345678 --village "Nghĩa Tân" | tail -n1)
fm a dossier status "$D1" submitted --ref "000.00.12.H10-231114-0001" >/dev/null
V=$(fm b visit add --village "Xuân Hòa" --mode village_point --citizens 9 --services app_installed | tail -n1)
fm b visit void "$V" --reason "recorded twice" >/dev/null
D2=$(fm b dossier add --procedure gia_dinh_van_hoa --applicant-name "Hộ Lý Văn Sinh" --village "Xuân Hòa" | tail -n1)
fm b dossier status "$D2" delivered >/dev/null
"$BIN/fm-fill" "$W/a" 300 >/dev/null

step "the gateway forwards to PostgreSQL and the spool"
conf g "[upstream]" "postgres = $(pg_conninfo)" "spool = $W/spool" "linger_ms = 200" \
  "batch_entries = 60" "retry_min_ms = 200" "retry_max_ms = 1000" "timeout_seconds = 5"
conf a
conf b
start g --config "$W/g.conf"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[g]}"
start b --config "$W/b.conf" --peer "127.0.0.1:${PORT[g]}"
wait_for "the laptops and the gateway to agree" same_view a b g
wait_for "both sinks to catch up" forwarded_all g postgres spool

# check_sinks: each sink holds every entry of the gateway exactly once and
# every entry (receipts aside) has exactly one receipt per sink.
check_sinks() {
  local total rows ids plain lines unique dups receipted splain
  total=$(status_field g entries)
  rows=$(pg_q "SELECT count(*) FROM entries")
  ids=$(pg_q "SELECT count(DISTINCT id) FROM entries")
  [ "$rows" = "$total" ] || fail "$1: postgres has $rows entries, the gateway $total"
  [ "$ids" = "$rows" ] || fail "$1: postgres has $((rows - ids)) entries twice"
  plain=$(pg_q "SELECT count(*) FROM entries WHERE kind <> 'receipt'")
  pg_receipt_check postgres "$plain"
  pg_receipt_check spool "$plain"
  read -r lines unique dups receipted splain < <("$PY" "$HERE/check.py" spool "$W/spool")
  [ "$lines" = "$total" ] || fail "$1: $lines entry lines in the spool, the gateway holds $total"
  [ "$unique" = "$lines" ] || fail "$1: the spool has $((lines - unique)) entries twice"
  [ "$dups" = 0 ] && [ "$receipted" = "$splain" ] || fail "$1: spool receipts: $dups twice, $receipted of $splain"
  echo "$1: $total entries, each once in postgres and in the spool, each receipted once per sink"
}
check_sinks "after sync"

step "the views in PostgreSQL match the CLI's"
[ "$(pg_q "SELECT max(version) FROM schema_version")" = 3 ] || fail "schema_version is not 3"
pg_q "SELECT json_agg(d) FROM dossiers d" >"$W/pg-dossiers.json"
pg_q "SELECT json_agg(v) FROM visits v" >"$W/pg-visits.json"
fm g dossier list --json >"$W/cli-dossiers.json"
fm g visit list --json >"$W/cli-visits.json"
"$PY" "$HERE/check.py" views "$W/pg-dossiers.json" "$W/cli-dossiers.json" dossier || fail "dossiers differ"
"$PY" "$HERE/check.py" views "$W/pg-visits.json" "$W/cli-visits.json" visit || fail "visits differ"
note=$(pg_q "SELECT note FROM visits WHERE place = 'nhà ông Sùng A Chứ'")
case "$note" in *'"quoted" note, a back\slash, a tab	and a newline'*) ;; *) fail "the note came out as: $note" ;; esac
[ "$(pg_q "SELECT body->>'place' FROM entries WHERE kind = 'visit' AND body->>'place' LIKE 'nhà%'")" = "nhà ông Sùng A Chứ" ] ||
  fail "entries.body does not hold the visit's fields"
[ "$(pg_q "SELECT count(*) FROM entries WHERE raw IS NULL OR stamped_at IS NULL")" = 0 ] || fail "raw or stamped_at missing"

step "PostgreSQL stopped: entries pile up, the spool goes on"
pg_stop
"$BIN/fm-fill" "$W/b" 80 >/dev/null
fm b dossier status "$D2" delivered --note "trả kết quả tại nhà" >/dev/null
wait_for "the gateway to get b's new entries" same_view b g
wait_for "the spool to catch up" forwarded_all g spool
failing() { [ "$(sink_field g postgres failures)" -ge 2 ] && [ "$(sink_field g postgres pending)" -ge 80 ]; }
wait_for "postgres to be failing with entries waiting" failing
fm g status | grep -q "^forwarding *postgres .*FAILING.*postgres: cannot connect" ||
  fail "status does not say why postgres fails: $(fm g status)"
log_has g "upstream postgres: postgres: cannot connect" || fail "the log does not say postgres is down"

step "PostgreSQL back: everything arrives, once"
pg_start
wait_for "postgres to catch up" forwarded_all g postgres spool
check_sinks "after the outage"
log_has g "upstream postgres: delivering again after" || fail "the log does not say delivery resumed"

step "the gateway killed with SIGKILL while it forwards, $KILLS times"
stop a
stop b
RANDOM=$$
for round in $(seq "$KILLS"); do
  kill -9 "${PID[g]}"
  wait "${PID[g]}" 2>/dev/null || true
  unset "PID[g]"
  # More work each round (ten batches per sink), and the kill comes at a
  # random moment after the first batch of this run was acknowledged: in
  # the middle of forwarding, between a delivery and its commit or not.
  "$BIN/fm-fill" "$W/g" 600 >/dev/null
  # A fresh log each run: start() looks for "fieldmeshd started" in it,
  # and an old line would hide a start that failed (a port taken).
  cat "$W/g.log" >>"$W/g-runs.log"
  : >"$W/g.log"
  start g --config "$W/g.conf"
  acked() { [ "$(count_in_log g "entries acknowledged in")" -gt 0 ]; }
  wait_for "round $round: a first batch" acked
  sleep "0.$(printf '%03d' $((RANDOM % 120)))"
done
kill -9 "${PID[g]}"
wait "${PID[g]}" 2>/dev/null || true
unset "PID[g]"
fm g verify >/dev/null || fail "verify after the last SIGKILL"
cat "$W/g.log" >>"$W/g-runs.log"
: >"$W/g.log"
again=$(count_in_log g-runs "again: planned before the daemon stopped")
echo "$again restarts found a batch planned and not acknowledged: delivered again"
start g --config "$W/g.conf"
wait_for "both sinks to catch up after the kills" forwarded_all g postgres spool
check_sinks "after $KILLS kills"
stop g
echo "$NAME: ok"
