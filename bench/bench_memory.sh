#!/usr/bin/env bash
# Daemon resident memory with N entries in the store (default 1,000,000),
# LMDB's mapped pages aside (the bar, in README.md: under 64 MiB).
# Fills a laptop's store with fm-fill, starts fieldmeshd on it and a peer
# that syncs a few entries, then reads /proc/PID/smaps: total RSS, the
# part that is the mapped data.mdb, and the rest.
#
#   bash bench/bench_memory.sh BIN_DIR [N]     (BIN_DIR: fieldmesh, fieldmeshd, fm-fill)
set -euo pipefail
BIN=${1:?usage: bench_memory.sh BIN_DIR [N]}
N=${2:-1000000}
W=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$W"' EXIT
fm() { "$BIN/fieldmesh" --state "$W/$1" "${@:2}"; }
fm auth authority init --commune "Tân Quang" >/dev/null
for n in a b; do
  fm "$n" init | tail -n1 >"$W/$n.id"
  fm auth enroll "$(cat "$W/$n.id")" --name "$n" --team "Team 1" --role member -o "$W/$n.join" >/dev/null
  fm "$n" join "$W/$n.join" >/dev/null
done
t0=$(date +%s)
"$BIN/fm-fill" "$W/a" "$N" >/dev/null
echo "filled $N entries in $(( $(date +%s) - t0 )) s ($(du -sh "$W/a/store" | cut -f1) on disk)"
port=$(( 20000 + RANDOM % 30000 ))
"$BIN/fieldmeshd" --state "$W/a" --listen "127.0.0.1:$port" --log-level warn 2>/dev/null &
PIDS+=($!)
pid=$!
sleep 1
fm b visit add --village "Nghĩa Tân" --mode home --services account_created --citizens 1 >/dev/null
"$BIN/fieldmeshd" --state "$W/b" --listen "127.0.0.1:$((port + 1))" --peer "127.0.0.1:$port" \
  --log-level warn 2>/dev/null &
PIDS+=($!)
sleep 5
fm a status | grep -E "^entries"
awk '
  /^[0-9a-f]+-[0-9a-f]+ / { map = $6 }
  /^Rss:/ { rss += $2; if (map ~ /data\.mdb$/) mdb += $2 }
  END { printf "fieldmeshd RSS: %.1f MiB in all, %.1f MiB of it mapped data.mdb, %.1f MiB besides (bar: < 64)\n", rss/1024, mdb/1024, (rss-mdb)/1024 }
' "/proc/$pid/smaps"
