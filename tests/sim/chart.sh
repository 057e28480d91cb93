#!/usr/bin/env bash
# The CSV of a run becomes an SVG chart: chart.sh SIM SCENARIO CHART_SCRIPT
. "$(dirname "$0")/lib.sh"
sim=$1 scenario=$2 chart=$3
command -v python3 > /dev/null || { echo "python3 is not installed: skipped"; exit 77; }
"$sim" "$scenario" --csv "$WORK/run.csv" --tmp "$WORK" > /dev/null || fail "the run exited $?"
python3 "$chart" "$WORK/run.csv" -o "$WORK/run.svg" --title "mini" || fail "the chart script failed"
python3 - "$WORK/run.svg" <<'PY' || fail "the chart is not a well-formed SVG with three series"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag.endswith("svg"), root.tag
lines = [e for e in root.iter() if e.tag.endswith("polyline")]
assert len(lines) == 3, len(lines)
PY
echo "ok: chart"
