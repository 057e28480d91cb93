#!/usr/bin/env bash
# The gateway's HTTP upstream over TLS, against tests/gateway/receiver.py
# serving a certificate made here by openssl for 127.0.0.1:
#   - the certificate is signed by a CA the system does not know: the
#     gateway refuses to send (nothing reaches the endpoint), and status
#     says why;
#   - ca_file names a CA that did not sign it: still refused;
#   - ca_file names the CA that signed it: everything is delivered once,
#     and the receipts reach the laptop;
#   - a certificate for another address, signed by the right CA: refused
#     (the name is checked, not only the signature).
#
# usage: test_gateway_https.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_gateway_https.sh BIN_DIR}
NAME=test_gateway_https
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl is not installed: run scripts/setup.sh"

R="$W/receiver"
T="$W/tls"
mkdir -p "$R" "$T"
HPORT=$NEXT_PORT
NEXT_PORT=$((NEXT_PORT + 1))
RPID=
# receiver_start CERT KEY: the endpoint, serving that certificate.
receiver_start() {
  rm -f "$R/ready"
  "$PY" "$HERE/receiver.py" "$HPORT" "$R" "$1" "$2" 2>>"$W/receiver.log" &
  RPID=$!
  EXTRA_PIDS+=("$RPID")
  wait_for "the receiver to listen" test -e "$R/ready"
}
receiver_stop() { kill "$RPID"; wait "$RPID" 2>/dev/null || true; }
rstate() {
  [ -e "$R/state.json" ] || { echo 0; return; }
  "$PY" -c 'import json,sys; S=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$R/state.json" "$1"
}

# ca NAME: a certificate authority T/NAME.pem, T/NAME.key.
ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.pem" 2>>"$W/openssl.log"
}
# leaf NAME CA IP: a server certificate T/NAME.pem for IP, signed by CA.
leaf() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$3" \
    -keyout "$T/$1.key" -out "$T/$1.csr" 2>>"$W/openssl.log"
  printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$3" \
    >"$T/$1.ext"
  openssl x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" -CAkey "$T/$2.key" -CAcreateserial \
    -days 2 -extfile "$T/$1.ext" -out "$T/$1.pem" 2>>"$W/openssl.log"
}

step "certificates: the commune's CA, a stranger CA; one for 127.0.0.1, one for 127.0.0.2"
ca commune-ca
ca stranger-ca
leaf server commune-ca 127.0.0.1
leaf elsewhere commune-ca 127.0.0.2

step "a commune: laptop a, gateway g"
commune a:member:"Team 1" g:gateway:"Commune hall"
D=$(fm a dossier add --procedure khai_sinh --applicant-name "Giàng Thị Mỷ" --village "Vinh Quang" | tail -n1)
"$BIN/fm-fill" "$W/a" 60 >/dev/null
URL="https://127.0.0.1:$HPORT/batches"
upstream() {
  conf g "[upstream]" "http = $URL" "linger_ms = 100" "batch_entries = 25" \
    "retry_min_ms = 200" "retry_max_ms = 600" "timeout_seconds = 5" \
    "http_token = s3cret-token" "$@"
}
# The failure count is kept in the store across restarts, and the log
# grows across them: each start of g notes both, and a check looks only
# at what came after.
F0=0
MARK=0
start_g() {
  F0=$(sink_field g http failures 2>/dev/null || echo 0)
  [ -n "$F0" ] || F0=0
  MARK=0
  [ ! -e "$W/g.log" ] || MARK=$(wc -l <"$W/g.log")
  start g --config "$W/g.conf"
}
failing_more() { [ "$(sink_field g http failures)" -ge $((F0 + $1)) ]; }
# refused WHAT WORDS: since g's last start it failed to deliver twice, says
# so with WORDS (an extended regular expression) in the reason, and
# nothing reached the endpoint.
refused() {
  local why
  wait_for "failed deliveries ($1)" failing_more 2
  fm g status | grep -q "FAILING.*cannot deliver to $URL" || fail "status does not say why: $(fm g status)"
  why=$(tail -n +$((MARK + 1)) "$W/g.log" | grep "cannot deliver to $URL" | tail -n1)
  printf '%s\n' "$why" | grep -Eiq "$2" || fail "the reason does not match /$2/: $why"
  echo "$why"
  [ "$(rstate "S['requests']")" = 0 ] || fail "a request reached the endpoint ($1)"
  [ "$(status_field a waiting_receipt)" = 61 ] || fail "a's entries should still wait for receipts"
}

step "the endpoint's CA is unknown to this machine: nothing is sent"
receiver_start "$T/server.pem" "$T/server.key"
upstream
conf a
start_g
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[g]}"
wait_for "the gateway to hold a's entries" same_view a g
refused "unknown CA" "certificate"
stop g

step "ca_file names another CA: still refused"
upstream "ca_file = $T/stranger-ca.pem"
start_g
refused "the wrong CA" "certificate"
stop g

step "a certificate for another address, signed by the right CA: refused"
receiver_stop
receiver_start "$T/elsewhere.pem" "$T/elsewhere.key"
upstream "ca_file = $T/commune-ca.pem"
start_g
refused "the wrong name" "name"
stop g

step "the right CA and the right name: everything delivered, once"
receiver_stop
receiver_start "$T/server.pem" "$T/server.key"
start_g
# The gateway listens on a new port at every start: a follows it.
stop a
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[g]}"
wait_for "everything accepted" forwarded_all g http
[ ! -s "$R/violations" ] || fail "the receiver saw: $(head -n 5 "$R/violations")"
total=$(status_field g entries)
receipts=$(fm g status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["self_seq"])')
[ "$(rstate "len(S['accepted'])")" = "$total" ] || fail "accepted $(rstate "len(S['accepted'])") of $total"
[ "$(rstate "len(S['receipted'])")" = $((total - receipts)) ] || fail "receipts do not match"
wait_for "a's entries all receipted" none_waiting a
fm a dossier show "$D" | grep -q "http, 20" || fail "no http receipt on a: $(fm a dossier show "$D")"
stop a
stop g
echo "$NAME: ok ($total entries over TLS; $(rstate "S['requests']") requests)"
