#!/usr/bin/env bash
# A scan forwarded upstream: laptop a attaches a file of S bytes (default
# 5,000,000) to a dossier; its daemon syncs with the gateway g, which
# forwards to a spool folder, a PostgreSQL server and an HTTP endpoint
# (tests/gateway/receiver.py), all started here.  Prints, for R rounds
# (default 3): the time from `dossier attach` until g holds every chunk,
# until all three sinks have the file, and each sink's delivery of the
# batch that carried it (from the gateway's log: opening the scan is
# part of it).  Figures only: no pass or fail.  Use a Release build on a
# quiet machine.
#
#   bash bench/bench_scan_forward.sh BIN_DIR [S] [R]
set -euo pipefail
BIN=${1:?usage: bench_scan_forward.sh BIN_DIR [S] [R]}
S=${2:-5000000}
ROUNDS=${3:-3}
NAME=bench_scan_forward
# shellcheck source=../tests/gateway/lib.sh
. "$(dirname "$0")/../tests/gateway/lib.sh"
DEADLINE=300

ms() { echo $(( $(date +%s%N) / 1000000 )); }
R="$W/receiver"
mkdir -p "$R"
HPORT=$NEXT_PORT
NEXT_PORT=$((NEXT_PORT + 1))
commune a:member:"Team 1" g:gateway:"Commune hall"
pg_start
"$PY" "$HERE/receiver.py" "$HPORT" "$R" 2>>"$W/receiver.log" &
EXTRA_PIDS+=($!)
wait_for "the receiver to listen" test -e "$R/ready"
conf g "[upstream]" "spool = $W/spool" "postgres = $(pg_conninfo)" \
  "http = http://127.0.0.1:$HPORT/fieldmesh/batches" "http_token = s3cret-token" "linger_ms = 200"
conf a
start g --config "$W/g.conf"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[g]}"
D=$(fm a dossier add --procedure khai_sinh --applicant-name "Vàng Thị Mỷ" --village "Nghĩa Tân" | tail -n1)
wait_for "the sinks to catch up" forwarded_all g spool postgres http

all_chunks() {
  fm g --json dossier attachments "$D" | "$PY" -c '
import json, sys
a = json.load(sys.stdin)
sys.exit(0 if len(a) >= int(sys.argv[1]) and a[-1]["chunks_here"] == a[-1]["chunks"] else 1)' "$1"
}
# All three sinks hold N files.
upstream_has() {
  [ "$(ls "$W"/spool/*.scan 2>/dev/null | wc -l)" = "$1" ] &&
    [ "$(pg_q "SELECT count(*) FROM attachments")" = "$1" ] &&
    [ "$(ls "$R"/attachments 2>/dev/null | grep -vc tmp)" = "$1" ]
}
printf '%-6s %10s %12s %12s %12s %12s %12s\n' round "bytes" "chunks@g ms" "3 sinks ms" \
  "spool ms" "postgres ms" "http ms"
for r in $(seq 1 "$ROUNDS"); do
  "$PY" -c 'import os,sys; open(sys.argv[1],"wb").write(os.urandom(int(sys.argv[2])))' "$W/scan$r" "$S"
  mark=$(wc -l <"$W/g.log")
  t0=$(ms)
  fm a dossier attach "$D" "$W/scan$r" --kind other >/dev/null
  until all_chunks "$r"; do sleep 0.05; done
  t1=$(ms)
  until upstream_has "$r"; do sleep 0.05; done
  t2=$(ms)
  wait_for "the sinks to catch up" forwarded_all g spool postgres http
  sink_ms() {
    tail -n +$((mark + 1)) "$W/g.log" |
      sed -n "s/.*upstream $1: batch .* acknowledged in \([0-9]*\) ms.*/\1/p" | sort -n | tail -n1
  }
  printf '%-6s %10s %12s %12s %12s %12s %12s\n' "$r" "$S" $((t1 - t0)) $((t2 - t0)) \
    "$(sink_ms spool)" "$(sink_ms postgres)" "$(sink_ms http)"
done
