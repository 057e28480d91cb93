#!/usr/bin/env bash
# The gateway's dashboard end to end, with real daemons and a real browser:
#   - laptops a and b sync records to gateway g; c (its member's name is
#     hostile markup) syncs only with a, so g knows c from a alone and
#     flags it "never synced here", on top of the Mesh page;
#   - every page answers 200 with what the store holds: a known member,
#     a dossier's timeline with its receipt, the report equal to
#     `fieldmesh report` on the gateway (the CSV byte for byte), the spool,
#     the silent device among the problems;
#   - hostile text (an applicant named <script>..., a member with quotes)
#     comes out escaped on every page; identity number and phone masked;
#   - only GET and HEAD (405 otherwise), 404 for unknown paths, English
#     by ?lang=en or Accept-Language;
#   - 1,000 slow clients on the dashboard: the sync sessions go on, and
#     the dashboard answers again once H2O has dropped them;
#   - headless Chromium loads every page (text checked in its DOM) and
#     saves a screenshot under BIN/../web-screenshots/;
#   - off loopback: no start without [web] password_file; 401 without or
#     with a wrong password (answered after a delay), 200 with the right
#     one, 429 with Retry-After after repeated wrong ones.
#
# usage: test_web.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_web.sh BIN_DIR}
NAME=test_web
# shellcheck source=../gateway/lib.sh
. "$(dirname "$0")/../gateway/lib.sh"
command -v curl >/dev/null || fail "no curl: run scripts/setup.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || fail "no chromium: run scripts/setup.sh"
SHOTS=$(cd "$BIN/.." && pwd)/web-screenshots
mkdir -p "$SHOTS"
WEB=$NEXT_PORT
NEXT_PORT=$((NEXT_PORT + 1))
URL="http://127.0.0.1:$WEB"
HOSTILE_APPLICANT='<script>alert("x")</script> & '"'"'Páo'"'"
HOSTILE_MEMBER='<i>Lò "Thị" Lan</i>'

# get PATH [CURL ARGS...]: the body of PATH into W/page, its status on stdout.
get() {
  local path=$1
  shift
  curl -sS -o "$W/page" -w '%{http_code}' "$@" "$URL$path"
}
# page_has PATH TEXT...: PATH answers 200 and its body holds every TEXT.
page_has() {
  local path=$1 code t
  shift
  code=$(get "$path")
  [ "$code" = 200 ] || fail "GET $path: $code, expected 200"
  for t in "$@"; do
    grep -qF -- "$t" "$W/page" || fail "GET $path does not show \"$t\": $(head -c 3000 "$W/page")"
  done
}
# no_raw_markup PATH: nothing hostile went out unescaped.
no_raw_markup() {
  ! grep -qF '<script>' "$W/page" || fail "$1 has an unescaped <script>"
  ! grep -qF '<i>Lò' "$W/page" || fail "$1 has the member's markup unescaped"
}

step "a commune: a, b and a gateway; c (a hostile name) syncs only with a"
commune a:member:"Tổ 1" b:leader:"Tổ 2" g:gateway:"Commune hall"
fm c init | tail -n1 >"$W/c.id"
fm auth enroll "$(cat "$W/c.id")" --name "$HOSTILE_MEMBER" --team "Tổ 1" --role member \
  --villages "Nghĩa Tân" -o "$W/c.join" >/dev/null
fm c join "$W/c.join" >/dev/null
fm a visit add --village "Nghĩa Tân" --mode home --citizens 3 --services account_created >/dev/null
fm b visit add --village "Vinh Quang" --mode village_point --citizens 5 --services account_created >/dev/null
D=$(fm a dossier add --procedure chung_thuc --applicant-name "$HOSTILE_APPLICANT" \
  --applicant-id 001234567890 --phone 0912345678 --village "Nghĩa Tân" | tail -n1)
fm a dossier status "$D" submitted --ref "000.00.12.H10-231114-0001" >/dev/null
DC=$(fm c dossier add --procedure khai_sinh --applicant-name "Hà Thị Mai" --village "Nghĩa Tân" | tail -n1)
head -c 300000 /dev/urandom >"$W/cccd-lan.jpg"
fm a dossier attach "$D" "$W/cccd-lan.jpg" --kind id_card >/dev/null

step "c meets a only; then a and b sync with the gateway, which forwards to a spool"
conf a
conf b
conf c
conf g "[upstream]" "spool = $W/spool" "linger_ms = 200" "[web]" "listen = 127.0.0.1:$WEB" \
  "silent_days = 2"
start a --config "$W/a.conf"
start c --config "$W/c.conf" --peer "127.0.0.1:${PORT[a]}"
wait_for "c and a to agree" same_view a c
stop c
start g --config "$W/g.conf"
log_has g "dashboard on http://127.0.0.1:$WEB/" || fail "g does not say where its dashboard is"
start b --config "$W/b.conf" --peer "127.0.0.1:${PORT[g]}"
fm a sync "127.0.0.1:${PORT[g]}" >/dev/null
wait_for "a, b and g to agree" same_view a b g
wait_for "the spool to catch up" forwarded_all g spool
wait_for "g to hold the scan's chunks" eval '[ "$(status_field g scan_chunks_missing)" = 0 ]'

step "Mesh: every device, c flagged and on top"
page_has / '<html lang="vi">' "Máy a" "Máy b" "Máy g" "trạm này" \
  '&lt;i&gt;Lò &quot;Thị&quot; Lan&lt;/i&gt;' "chưa từng đồng bộ với trạm" "im lặng hơn 2 ngày"
no_raw_markup /
first=$(grep -o '<tr class="[a-z]*"><td>[^<]*' "$W/page" | head -n1)
case "$first" in *'&lt;i&gt;Lò'*) ;; *) fail "the silent device is not on top: $first" ;; esac
# Each laptop's own word (its presence note): the daemons' notes carry
# their version.
page_has "/?lang=en" "Last seen (its own note)" "fieldmesh 0.1.0"

step "Records: the list, filters, and a dossier's timeline with its receipt"
page_has /records "$D" "$DC" '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Páo&#39;' \
  "Máy a" "000.00.12.H10-231114-0001"
no_raw_markup /records
page_has "/records?village=Vinh+Quang" "0 kết quả"
page_has "/records?procedure=khai_sinh" "$DC" "1 kết quả"
! grep -qF "$D" "$W/page" || fail "the procedure filter kept a dossier of another procedure"
page_has "/records?status=submitted" "$D" "1 kết quả" "đã nộp"
page_has "/records?kind=visits&team=T%E1%BB%95+2" "Vinh Quang" "1 kết quả"
page_has "/records/$D" "Diễn biến" "Máy a" "trạng thái → đã nộp" "tạo hoặc sửa hồ sơ" "spool" \
  "000.00.12.H10-231114-0001" "•••890" "•••678" '&lt;script&gt;'
no_raw_markup "/records/$D"
page_has "/records/$D" "Giấy tờ đính kèm" "id_card" "cccd-lan.jpg" "300000" "5/5" \
  "đính kèm bản quét"
page_has "/records/$DC?lang=en" "Scans" "No scans attached."
! grep -qE '001234567890|0912345678' "$W/page" || fail "the identity number or phone is not masked"
page_has "/records/$DC" '&lt;i&gt;Lò &quot;Thị&quot; Lan&lt;/i&gt;' "khai_sinh"
no_raw_markup "/records/$DC"
[ "$(get /records/D-NOSUCH)" = 404 ] || fail "an unknown dossier is not 404"

step "Reports: the same numbers as \`fieldmesh report\` on the gateway"
for by in village team procedure month; do
  [ "$(get "/reports.csv?by=$by")" = 200 ] || fail "reports.csv by $by"
  fm g report --by "$by" --format csv >"$W/cli.csv"
  cmp -s "$W/page" "$W/cli.csv" || fail "reports.csv by $by differs from the CLI: $(diff "$W/page" "$W/cli.csv")"
done
total=$(fm g report --by village --format json | "$PY" -c 'import json,sys; t=json.load(sys.stdin)["total"]; print(t["visits"], t["dossiers"])')
read -r visits dossiers <<<"$total"
page_has "/reports?by=village" "<svg" "Nghĩa Tân" "Vinh Quang" \
  "<tr><td><b>Tổng</b></td><td class=\"n\">$visits</td><td class=\"n\">8</td><td class=\"n\">$dossiers</td>"
page_has "/reports?by=procedure&procedure=khai_sinh&lang=en" "Total" "khai_sinh"

step "Upstream: the spool, caught up"
page_has /upstream "spool" "$W/spool" "đã xong" "Mọi mục của xã mà trạm giữ đã có biên nhận"

step "/metrics: Prometheus' text format, strictly read, with the mesh's figures"
[ "$(get /metrics)" = 200 ] || fail "GET /metrics did not answer 200"
python3 "$(dirname "$0")/metrics.py" "$W/page" >"$W/metrics" || fail "/metrics is not the text format"
entries=$(status_field g entries)
grep -qx "fieldmesh_entries [0-9]*" "$W/metrics" || fail "no fieldmesh_entries: $(cat "$W/metrics")"
got=$(sed -n 's/^fieldmesh_entries //p' "$W/metrics")
[ "$got" -ge "$entries" ] || fail "fieldmesh_entries $got, the gateway holds $entries"
grep -q '^fieldmesh_received_entries_total{outcome="accepted"} [1-9]' "$W/metrics" ||
  fail "no accepted entries counted: $(cat "$W/metrics")"
grep -q '^fieldmesh_sink_pending_entries{sink="spool",target=".*"} 0$' "$W/metrics" ||
  fail "the spool sink is not caught up in /metrics"
grep -q '^fieldmesh_devices_silent [1-9]' "$W/metrics" || fail "the silent device is not counted"
grep -q '^fieldmesh_sent_bytes_total [1-9]' "$W/metrics" || fail "no bytes sent counted"
grep -q '^fieldmesh_oldest_unreceipted_seconds 0$' "$W/metrics" ||
  fail "an entry without a receipt: $(grep oldest "$W/metrics")"

step "Problems: the silent device, with what to do"
page_has /problems "im lặng" '&lt;i&gt;Lò &quot;Thị&quot; Lan&lt;/i&gt;' "chưa từng đồng bộ trực tiếp với trạm"
no_raw_markup /problems

step "a [web] listen address already taken stops the start, saying so"
conf c "[web]" "listen = 127.0.0.1:$WEB"
rc=0
out=$("$FMD" --state "$W/c" --config "$W/c.conf" --listen "127.0.0.1:$NEXT_PORT" 2>&1) || rc=$?
NEXT_PORT=$((NEXT_PORT + 1))
[ "$rc" = 1 ] || fail "a taken [web] listen: exit $rc, expected 1"
case "$out" in *"cannot serve the dashboard on 127.0.0.1:$WEB"*"choose another with [web] listen"*) ;;
  *) fail "a taken [web] listen is not said plainly: $out" ;; esac

step "English, HEAD, 404, and read-only"
page_has "/?lang=en" '<html lang="en">' "Mesh" "never synced here"
[ "$(get /upstream -H "Accept-Language: en-GB,en;q=0.8")" = 200 ] && grep -qF "caught up" "$W/page" ||
  fail "Accept-Language: en does not give English"
[ "$(get / -I)" = 200 ] || fail "HEAD / is not 200"
[ "$(get /nope)" = 404 ] || fail "an unknown path is not 404"
for m in POST PUT DELETE; do
  [ "$(get / -X "$m")" = 405 ] || fail "$m is not 405"
done
curl -sS -i -X POST "$URL/" | grep -qi '^allow: GET, HEAD' || fail "405 without Allow"
curl -sS -D "$W/headers" -o /dev/null "$URL/"
grep -qi "^content-security-policy: default-src 'none'" "$W/headers" ||
  fail "pages without a Content-Security-Policy"

step "1,000 slow clients on the dashboard do not stall the sync sessions"
"$PY" "$HERE/../web/loris.py" 127.0.0.1 "$WEB" 1000 40 >"$W/loris.out" &
LORIS=$!
EXTRA_PIDS+=("$LORIS")
wait_for "the slow clients to connect" test -s "$W/loris.out"
D2=$(fm b dossier add --procedure khai_sinh --applicant-name "Lò Văn Sáng" --village "Vinh Quang" | tail -n1)
t0=$SECONDS
wait_for "b's new dossier to reach the gateway" same_view b g
[ $((SECONDS - t0)) -le 10 ] || fail "a sync took $((SECONDS - t0)) s while the dashboard was flooded"
# H2O drops a request that does not arrive within 10 s: the page answers again.
page_ok() { [ "$(get "/records/$D2" -m 5 2>/dev/null)" = 200 ]; }
wait_for "the dashboard to answer again" page_ok
kill "$LORIS" 2>/dev/null || true
wait "$LORIS" 2>/dev/null || true
kill -0 "${PID[g]}" || fail "the gateway died under the slow clients"

step "headless Chromium loads every page; screenshots in $SHOTS"
shoot() {
  local name=$1 path=$2 want=$3
  timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --dump-dom "$URL$path" 2>/dev/null >"$W/dom.html" || fail "chromium could not load $path"
  grep -qF -- "$want" "$W/dom.html" || fail "chromium's page $path does not show \"$want\""
  timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1280,900 --screenshot="$SHOTS/$name.png" "$URL$path" >/dev/null 2>&1 ||
    fail "chromium could not screenshot $path"
  [ -s "$SHOTS/$name.png" ] || fail "no screenshot of $path"
}
shoot mesh "/?lang=vi" "chưa từng đồng bộ với trạm"
shoot records "/records?lang=vi" "$D"
shoot dossier "/records/$D?lang=vi" "000.00.12.H10-231114-0001"
shoot reports "/reports?by=village&lang=vi" "Nghĩa Tân"
shoot upstream "/upstream?lang=vi" "$W/spool"
shoot problems "/problems?lang=vi" "chưa từng đồng bộ trực tiếp với trạm"
shoot mesh-en "/?lang=en" "never synced here"

step "off loopback: refused without a password file"
stop b
stop g
conf g "[upstream]" "spool = $W/spool" "[web]" "listen = 0.0.0.0:$WEB"
rc=0
out=$("$FMD" --state "$W/g" --config "$W/g.conf" --listen "127.0.0.1:${PORT[g]}" 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "0.0.0.0 without password_file: exit $rc, expected 2"
case "$out" in *"[web] listen = 0.0.0.0:$WEB can be reached from other machines: set [web] password_file"*) ;;
  *) fail "the refusal does not say what to do: $out" ;; esac

conf g "[web]" "pasword_file = $W/web.pass"
rc=0
out=$("$FMD" --state "$W/g" --config "$W/g.conf" 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "a misspelled [web] key: exit $rc, expected 2"
case "$out" in *'unknown key "pasword_file" in [web]: did you mean "password_file"?'*) ;;
  *) fail "a misspelled [web] key is not named with the closest one: $out" ;; esac
conf g "[web]" "silent_days = 0"
rc=0
out=$("$FMD" --state "$W/g" --config "$W/g.conf" 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "[web] silent_days = 0: exit $rc, expected 2"
case "$out" in *'[web] silent_days = "0"'*"whole number of days from 1 to 365"*) ;;
  *) fail "a bad silent_days is not said plainly: $out" ;; esac
conf g "[upstream]" "spool = $W/spool" "[web]" "listen = 127.0.0.1:$WEB" "password_file = $W/nothere"
rc=0
out=$("$FMD" --state "$W/g" --config "$W/g.conf" --listen "127.0.0.1:${PORT[g]}" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "a missing password file: exit $rc, expected 1"
case "$out" in *"cannot read [web] password_file $W/nothere"*"fieldmesh web-password"*) ;;
  *) fail "a missing password file is not said plainly: $out" ;; esac

step "web-password: too short refused; the hash file is 0600"
rc=0
printf 'short\n' | "$FM" web-password "$W/web.pass" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && [ ! -e "$W/web.pass" ] || fail "a short password: exit $rc, or a file was written"
printf 'mật khẩu của xã\n' | "$FM" web-password "$W/web.pass" >/dev/null
[ "$(stat -c %a "$W/web.pass")" = 600 ] || fail "the hash file is not 0600"
grep -q '^\$argon2id\$' "$W/web.pass" || fail "not an Argon2id hash: $(cat "$W/web.pass")"

step "with the password: 401 without or wrong (after a delay), 200 right, then 429"
conf g "[upstream]" "spool = $W/spool" "[web]" "listen = 0.0.0.0:$WEB" "password_file = $W/web.pass"
start g --config "$W/g.conf"
log_has g "(password required)" || fail "g does not say the dashboard needs a password"
[ "$(get /)" = 401 ] || fail "no password: not 401"
curl -sS -i "$URL/" | grep -qi '^www-authenticate: Basic' || fail "401 without WWW-Authenticate"
[ "$(get / -u 'admin:mật khẩu của xã')" = 200 ] || fail "the right password: not 200"
grep -qF "Máy a" "$W/page" || fail "the page behind the password is not the Mesh page"
t0=$(date +%s%N)
[ "$(get / -u admin:wrong)" = 401 ] || fail "a wrong password: not 401"
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -ge 900 ] || fail "a wrong password was answered at once ($(((t1 - t0) / 1000000)) ms)"
for i in 2 3 4; do
  [ "$(get / -u "admin:wrong$i")" = 401 ] || fail "wrong password $i: not 401"
done
curl -sS -i -u 'admin:mật khẩu của xã' "$URL/" >"$W/limited" || true
head -n1 "$W/limited" | grep -q ' 429' || fail "after 4 wrong passwords: $(head -n1 "$W/limited"), expected 429"
grep -qi '^retry-after: [0-9]' "$W/limited" || fail "429 without Retry-After"

step "an idle browser connection does not hold up the gateway's stop"
"$PY" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: fieldmesh\r\n\r\n")
s.recv(65536)
open(sys.argv[2], "w").write("idle\n")
time.sleep(60)' "$WEB" "$W/idle.out" &
EXTRA_PIDS+=($!)
wait_for "the idle connection to be answered" test -s "$W/idle.out"
t0=$(date +%s%N)
stop g
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 5000 ] || fail "the gateway took $ms ms to stop with an idle dashboard connection"
step "ok"
