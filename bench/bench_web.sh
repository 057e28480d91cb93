#!/usr/bin/env bash
# The gateway dashboard's page times on a commune-sized store: N devices
# (default 50) that wrote D dossiers between them (default 10,000, half
# submitted, a fifth delivered), carried to the gateway by bundles; the
# gateway forwards them to a spool (receipts for everything), then each
# page is fetched R times (default 5) with curl.  Prints the median and
# the slowest time of each page.  Figures only: no pass or fail (the
# issue's bar is 200 ms a page).  Use a Release build on a quiet machine.
#
#   bash bench/bench_web.sh BIN_DIR [N] [D] [R]
#   (BIN_DIR: fieldmesh, fieldmeshd, fm-fill)
set -euo pipefail
BIN=${1:?usage: bench_web.sh BIN_DIR [N] [D] [R]}
N=${2:-50}
D=${3:-10000}
R=${4:-5}
W=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$W"' EXIT
fm() { "$BIN/fieldmesh" --state "$W/$1" "${@:2}"; }
VILLAGES=("Nghĩa Tân" "Vinh Quang" "Xuân Hòa" "Nà Sài" "Bản Phố" "Tân Lập" "Đồng Tâm" "Khe Mạ")

t0=$(date +%s)
fm auth authority init --commune "Tân Quang" >/dev/null
fm g init | tail -n1 >"$W/g.id"
fm auth enroll "$(cat "$W/g.id")" --name "Cổng xã" --team "Commune hall" --role gateway \
  -o "$W/g.join" >/dev/null
fm g join "$W/g.join" >/dev/null
for i in $(seq 1 "$N"); do
  v=${VILLAGES[$((i % ${#VILLAGES[@]}))]}
  team="Tổ $((i % 5 + 1))"
  fm "d$i" init | tail -n1 >"$W/d$i.id"
  fm auth enroll "$(cat "$W/d$i.id")" --name "Thành viên $i" --team "$team" --role member \
    --villages "$v" -o "$W/d$i.join" >/dev/null
  fm "d$i" join "$W/d$i.join" >/dev/null
  "$BIN/fm-fill" "$W/d$i" $((D / N)) --dossiers "$v" "$team"
  fm "d$i" bundle export -o "$W/d$i.bundle" >/dev/null
  fm g bundle import "$W/d$i.bundle" >/dev/null
done
echo "store: $N devices, $(fm g status --json | sed -n 's/.*"dossiers":\([0-9]*\).*/\1/p') dossiers, $(fm g status --json | sed -n 's/.*"entries":\([0-9]*\).*/\1/p') entries, made in $(( $(date +%s) - t0 )) s"

port=$(( 20000 + RANDOM % 30000 ))
web=$((port + 1))
printf '[discovery]\nenabled = no\n[upstream]\nspool = %s/spool\nbatch_entries = 2000\nlinger_ms = 0\n[web]\nlisten = 127.0.0.1:%s\n' \
  "$W" "$web" >"$W/g.conf"
"$BIN/fieldmeshd" --state "$W/g" --config "$W/g.conf" --listen "127.0.0.1:$port" \
  --log-level warn 2>"$W/g.log" &
PIDS+=($!)
t0=$(date +%s)
until fm g status --json | grep -q '"pending":0,'; do sleep 1; done
echo "forwarded to the spool in $(( $(date +%s) - t0 )) s"
D1=$(cat "$W"/spool/*.ndjson | grep -o 'D-[0-9A-Z]\{16\}' | head -n1 || true)

page() {
  local name=$1 path=$2 times
  times=$(for _ in $(seq 1 "$R"); do
    curl -sS -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$web$path"
  done | sort -n)
  printf '%-22s median %6.1f ms   slowest %6.1f ms   (%s)\n' "$name" \
    "$(echo "$times" | awk -v r="$R" 'NR == int((r + 1) / 2) { print $1 * 1000 }')" \
    "$(echo "$times" | tail -n1 | awk '{ print $1 * 1000 }')" "$path"
}
echo "page times over $R fetches each:"
page mesh /
page records /records
page "records (filtered)" "/records?village=N%C3%A0+S%C3%A0i&status=delivered"
page visits "/records?kind=visits"
[ -n "$D1" ] && page dossier "/records/$D1"
page "reports by village" "/reports?by=village"
page "reports by month" "/reports?by=month"
page "reports CSV" "/reports.csv?by=procedure"
page upstream /upstream
page problems /problems
