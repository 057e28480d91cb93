#!/usr/bin/env bash
# The gateway with an HTTP upstream: tests/gateway/receiver.py, a small
# server of our own that checks the idempotency keys (the batch's header
# and body, every entry's own) and answers as a mode file says:
#   - not listening at first, then 503: entries pile up, nothing is lost,
#     and the same batch is sent again under the same key;
#   - an answer slower than timeout_seconds, and a 2xx that is not the
#     documented reply: failures, retried;
#   - partial acceptance: only the accepted ids get receipts, the others
#     are sent again (never one that was accepted) until accepted;
#   - an endpoint that never takes one entry (dossiers, here): status and
#     doctor name it after 3 answered batches, and forget it once taken;
#   - at the end every entry was accepted once and every one (receipts
#     aside) receipted once, and the receipt reaches the laptop.
#
# usage: test_gateway_http.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_gateway_http.sh BIN_DIR}
NAME=test_gateway_http
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

R="$W/receiver"
mkdir -p "$R"
HPORT=$NEXT_PORT
NEXT_PORT=$((NEXT_PORT + 1))
mode() { printf '%s\n' "$1" >"$R/mode"; }
receiver_start() {
  rm -f "$R/ready"
  "$PY" "$HERE/receiver.py" "$HPORT" "$R" 2>>"$W/receiver.log" &
  EXTRA_PIDS+=($!)
  wait_for "the receiver to listen" test -e "$R/ready"
}
rstate() { "$PY" -c 'import json,sys; S=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$R/state.json" "$1"; }
no_violations() { [ ! -s "$R/violations" ] || fail "the receiver saw: $(head -n 5 "$R/violations")"; }

step "a commune: laptop a, gateway g; the endpoint is not listening yet"
commune a:member:"Team 1" g:gateway:"Commune hall"
D=$(fm a dossier add --procedure khai_sinh --applicant-name "Giàng Thị Mỷ" --village "Vinh Quang" | tail -n1)
"$BIN/fm-fill" "$W/a" 200 >/dev/null
conf g "[upstream]" "http = http://127.0.0.1:$HPORT/batches" "linger_ms = 200" "batch_entries = 40" \
  "retry_min_ms = 200" "retry_max_ms = 800" "timeout_seconds = 2" "http_token = s3cret-token"
conf a
start g --config "$W/g.conf"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[g]}"
wait_for "the gateway to hold a's entries" same_view a g
failing() { [ "$(sink_field g http failures)" -ge "$1" ]; }
wait_for "failed deliveries" failing 3
[ "$(sink_field g http pending)" -ge 201 ] || fail "entries should be waiting: $(fm g status)"
fm g status | grep -q "FAILING.*cannot deliver to http://127.0.0.1:$HPORT/batches" ||
  fail "status does not say why: $(fm g status)"
rc=0
DOC=$(fm g doctor) || rc=$?
[ "$rc" -eq 1 ] || fail "doctor exited $rc while deliveries fail"
printf '%s\n' "$DOC" | grep -q "delivery failing" || fail "doctor does not report the failing sink: $DOC"
[ "$(status_field a waiting_receipt)" = 201 ] || fail "a's entries should wait for receipts"

step "503 for a while: the same batch again, under the same key"
mode 503
receiver_start
answered() { [ -e "$R/state.json" ] && [ "$(rstate "S['answers'].get('$1', 0)")" -ge "$2" ]; }
wait_for "three 503 answers" answered 503 3
[ "$(rstate "len(S['keys'])")" = 1 ] ||
  fail "the batch was not the same at every attempt"
no_violations

step "too slow, then not the documented reply: retried"
mode slow
wait_for "a slow answer" answered slow 1
mode garbage
wait_for "a garbage answer" answered garbage 1
log_has g "answered 2xx, but not with {\"accepted\": [entry ids]}" || fail "the garbage reply is not logged"
log_has g "Operation timed out" || fail "the timeout is not logged"

step "partial acceptance: only accepted ids are receipted"
mode partial
wait_for "everything accepted" forwarded_all g http
[ "$(rstate "S['partial_refused']")" -gt 0 ] || fail "partial mode refused nothing"
no_violations

step "an entry the endpoint never takes: named by status and doctor"
mode stubborn
fm a dossier add --procedure khai_tu --applicant-name "Lý Văn Tả" --village "Xuân Hòa" >/dev/null
SEQ=$(status_field a self_seq)
refused_3() { [ "$(sink_field g http refused_batches)" -ge 3 ]; }
# Each round of new visits makes a batch that the endpoint answers,
# taking the visits and leaving the dossier out.
for i in $(seq 30); do
  refused_3 && break
  "$BIN/fm-fill" "$W/a" 3 >/dev/null
  sleep 0.5
done
refused_3 || fail "the refused dossier is not counted: $(fm g status --json)"
[ "$(sink_field g http refused_seq)" = "$SEQ" ] || fail "status names seq $(sink_field g http refused_seq), not $SEQ"
fm g status | grep "REFUSING ONE ENTRY: seq $SEQ of Máy a (Team 1)" ||
  fail "status does not name the refused entry: $(fm g status)"
rc=0
DOC=$(fm g doctor) || rc=$?
[ "$rc" -eq 1 ] || fail "doctor exited $rc with an entry refused upstream"
printf '%s\n' "$DOC" | grep -A1 "entry refused upstream" || true
printf '%s\n' "$DOC" | grep -q "accepts the other entries but not seq $SEQ of Máy a" ||
  fail "doctor does not name the refused entry: $DOC"

step "more work while all is well"
mode ok
fm a dossier status "$D" submitted --ref "HCC-2023-0042" >/dev/null
"$BIN/fm-fill" "$W/a" 30 >/dev/null
wait_for "the laptop and the gateway to agree" same_view a g
wait_for "everything accepted" forwarded_all g http
no_violations
[ "$(sink_field g http refused_batches)" = 0 ] || fail "the dossier, now taken, is still named as refused"
fm g status | grep -q "REFUSING" && fail "status still says REFUSING: $(fm g status)"

step "every entry accepted once, every one receipted once, the receipt at the laptop"
total=$(status_field g entries)
accepted=$(rstate "len(S['accepted'])")
[ "$accepted" = "$total" ] || fail "the receiver accepted $accepted entries, the gateway holds $total"
receipts=$(fm g status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["self_seq"])')
receipted=$(rstate "len(S['receipted'])")
[ "$receipted" = $((total - receipts)) ] || fail "$receipted entries receipted, expected $((total - receipts))"
[ "$(rstate "max(S['receipted'].values())")" = 1 ] || fail "an entry was receipted twice"
delivered() { fm a dossier show "$D" --json | "$PY" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["upstream"]["delivered"] else 1)'; }
wait_for "the dossier to show delivered on a" delivered
fm a dossier show "$D" | grep -q "http, 20.*(HCC-\|http, 20.*(batch-" || fail "no http receipt line: $(fm a dossier show "$D")"
wait_for "a's entries all receipted" none_waiting a
grep -q "s3cret-token" "$W/g.log" && fail "the token is in the log"
stop a
stop g
echo "$NAME: ok ($total entries; $(rstate "S['requests']") requests; $(rstate "S['partial_refused']") refused at first)"
