#!/usr/bin/env bash
# A preset runs with every invariant holding: preset.sh SIM NAME DAYS
. "$(dirname "$0")/lib.sh"
sim=$1 name=$2 days=$3
"$sim" "$name" --days "$days" --json "$WORK/run.json" --csv "$WORK/run.csv" --tmp "$WORK" ||
  fail "$name --days $days exited $?"
expect_ok "$WORK/run.json"
at_least "$WORK/run.json" field 1
at_least "$WORK/run.json" opened 1
# One CSV row per simulated hour, and a last one.
rows=$(($(wc -l < "$WORK/run.csv") - 1))
hours=$(json_num "$WORK/run.json" simulated_hours)
awk -v r="$rows" -v h="$hours" 'BEGIN { exit !(r >= int(h) && r <= int(h) + 2) }' ||
  fail "$rows CSV rows for $hours simulated hours"
echo "ok: $name, $days days"
