#!/usr/bin/env bash
# How long `fieldmesh verify` takes on a laptop's store of N entries
# (default 100,000): what an administrator waits for before trusting a
# laptop that was dropped, or one whose disk filled up.  Prints figures;
# never fails on speed.
#
#   bash bench/bench_verify.sh BIN_DIR [N]     (BIN_DIR: fieldmesh, fm-fill)
set -euo pipefail
BIN=${1:?usage: bench_verify.sh BIN_DIR [N]}
N=${2:-100000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fm() { "$BIN/fieldmesh" --state "$W/$1" "${@:2}"; }
now_ms() { date +%s%3N; }
fm auth authority init --commune "Tân Quang" >/dev/null
fm a init | tail -n1 >"$W/a.id"
fm auth enroll "$(cat "$W/a.id")" --name "Lan" --team "Team 1" --role member -o "$W/a.join" >/dev/null
fm a join "$W/a.join" >/dev/null
t0=$(now_ms)
"$BIN/fm-fill" "$W/a" "$N" >/dev/null
t1=$(now_ms)
echo "filled $N entries in $(( (t1 - t0) / 1000 )) s ($(du -sh "$W/a/store" | cut -f1) on disk)"
t0=$(now_ms)
out=$(fm a verify)
t1=$(now_ms)
ms=$(( t1 - t0 ))
echo "$out"
echo "verify: $ms ms, $(( N * 1000 / (ms > 0 ? ms : 1) )) entries/s (every signature, link, view and receipt)"
