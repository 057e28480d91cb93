#!/usr/bin/env bash
# Scans travel: with a scan attached to every dossier, every invariant
# holds (scans-whole among them: every node that holds a scan's entry
# holds its chunks), every scan is whole at the gateway, and the report
# gives what the scans cost on the wire.  scans.sh SIM NAME ARGS...
. "$(dirname "$0")/lib.sh"
sim=$1 name=$2
shift 2
"$sim" "$name" "$@" --scans --json "$WORK/run.json" --tmp "$WORK" > "$WORK/run.txt" ||
  fail "$name $* --scans exited $?"
expect_ok "$WORK/run.json"
at_least "$WORK/run.json" attached 1
at_least "$WORK/run.json" whole_at_gateway 1
at_least "$WORK/run.json" chunks_received 1
[ "$(json_num "$WORK/run.json" never_whole_at_gateway)" = 0 ] || fail "a scan never became whole at the gateway"
[ "$(json_num "$WORK/run.json" attached)" = "$(json_num "$WORK/run.json" whole_at_gateway)" ] ||
  fail "not every scan attached is whole at the gateway"
ratio=$(json_num "$WORK/run.json" scan_wire_ratio)
awk -v r="$ratio" 'BEGIN { exit !(r >= 1 && r < 1.1) }' ||
  fail "scan_wire_ratio $ratio: a chunk should cost its bytes and a little framing"
grep -q '"scans-whole"' "$WORK/run.json" || fail "the JSON does not list scans-whole"
grep -q '^scans ' "$WORK/run.txt" || fail "the summary has no scans line"
echo "ok: $name $* --scans, scan_wire_ratio $ratio"
