#!/usr/bin/env bash
# Same scenario and seed: the same report and CSV, byte for byte, and the
# same summary but for its last line (the wall time).  Another seed: a
# different run.   determinism.sh SIM SCENARIO [ARGS...]
. "$(dirname "$0")/lib.sh"
sim=$1 scenario=$2
shift 2
for run in a b; do
  "$sim" "$scenario" "$@" --json "$WORK/$run.json" --csv "$WORK/$run.csv" --tmp "$WORK" \
    > "$WORK/$run.txt" || fail "run $run exited $?"
done
cmp "$WORK/a.json" "$WORK/b.json" || fail "two runs with one seed wrote different JSON"
cmp "$WORK/a.csv" "$WORK/b.csv" || fail "two runs with one seed wrote different CSV"
diff <(sed '$d' "$WORK/a.txt") <(sed '$d' "$WORK/b.txt") >&2 ||
  fail "two runs with one seed printed different summaries"
grep -q "seed" "$WORK/a.txt" || fail "the summary does not print the seed"
grep -q "wall" "$WORK/a.json" && fail "the JSON holds the wall time"
"$sim" "$scenario" "$@" --seed 424242 --json "$WORK/c.json" --tmp "$WORK" > "$WORK/c.txt" ||
  fail "run with another seed exited $?"
grep -q '"seed": 424242' "$WORK/c.json" || fail "--seed was not used"
sed '/"seed"/d' "$WORK/a.json" > "$WORK/a.noseed"
sed '/"seed"/d' "$WORK/c.json" > "$WORK/c.noseed"
cmp -s "$WORK/a.noseed" "$WORK/c.noseed" && fail "two seeds gave the same run"
echo "ok: deterministic, $(basename "$scenario")"
