#!/usr/bin/env python3
"""Draws the hourly CSV of a fieldmesh-sim run as an SVG chart.

    fieldmesh-sim tan-quang --csv run.csv
    python3 scripts/sim-chart.py run.csv -o run.svg [--title TEXT]

Two panels share the time axis: above, entries created and entries held by
the gateway (their gap is the work still only in the field); below, how
many honest nodes hold everything written so far.  Python's standard
library only.
"""
import argparse
import csv
import sys
from xml.sax.saxutils import escape

W, H = 960, 560
LEFT, RIGHT, TOP = 70, 30, 50
TOP_H, GAP, BOT_H = 280, 40, 120
COLORS = {"created": "#1f77b4", "gateway": "#d62728", "agree": "#2ca02c"}


def read(path):
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.append({
                "hour": int(r["hour"]),
                "time": r["local_time"],
                "created": int(r["entries_created"]),
                "gateway": int(r["entries_at_gateway"]),
                "agree": int(r["nodes_in_agreement"]),
                "honest": int(r["honest_nodes"]),
            })
    if not rows:
        sys.exit("sim-chart: %s has no rows" % path)
    return rows


def nice_max(v):
    """The smallest of 1, 2, 5 x 10^k not below v."""
    if v <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= v:
                return m * step
        step *= 10


def polyline(points, color, width=1.8):
    pts = " ".join("%.1f,%.1f" % p for p in points)
    return ('<polyline fill="none" stroke="%s" stroke-width="%s" '
            'stroke-linejoin="round" points="%s"/>' % (color, width, pts))


def x_of(hour, hours):
    return LEFT + (W - LEFT - RIGHT) * hour / max(hours, 1)


def axes(out, rows, hours, ymax, top, height, label):
    plot_w = W - LEFT - RIGHT
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="#fafafa" '
               'stroke="#999"/>' % (LEFT, top, plot_w, height))
    for i in range(5):
        v = ymax * i / 4
        y = top + height - height * i / 4
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>'
                   % (LEFT, LEFT + plot_w, y, y))
        out.append('<text x="%d" y="%.1f" text-anchor="end" font-size="11">%s</text>'
                   % (LEFT - 6, y + 4, "%g" % v))
    out.append('<text x="14" y="%d" font-size="12" transform="rotate(-90 14 %d)" '
               'text-anchor="middle">%s</text>' % (top + height // 2, top + height // 2,
                                                    escape(label)))


def time_ticks(out, rows, hours, y):
    days = max(1, hours // 24)
    every = max(1, days // 10)
    for r in rows:
        if r["hour"] % (24 * every) == 0:
            x = x_of(r["hour"], hours)
            out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#999"/>'
                       % (x, x, y, y + 4))
            out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10">%s</text>'
                       % (x, y + 16, escape(r["time"][:10])))


def legend(out, items, x, y):
    for i, (name, color) in enumerate(items):
        yy = y + 16 * i
        out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>'
                   % (x, x + 18, yy, yy, color))
        out.append('<text x="%d" y="%d" font-size="12">%s</text>' % (x + 24, yy + 4, escape(name)))


def draw(rows, title):
    hours = rows[-1]["hour"]
    honest = max(r["honest"] for r in rows)
    ymax = nice_max(max(max(r["created"], r["gateway"]) for r in rows))
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="28" font-size="16" font-weight="bold">%s</text>' % (LEFT, escape(title))]
    axes(out, rows, hours, ymax, TOP, TOP_H, "entries")
    for key in ("created", "gateway"):
        pts = [(x_of(r["hour"], hours), TOP + TOP_H - TOP_H * r[key] / ymax) for r in rows]
        out.append(polyline(pts, COLORS[key]))
    legend(out, [("entries created", COLORS["created"]),
                 ("entries at the gateway", COLORS["gateway"])], LEFT + 12, TOP + 18)
    top2 = TOP + TOP_H + GAP
    axes(out, rows, hours, honest, top2, BOT_H, "nodes")
    pts = [(x_of(r["hour"], hours), top2 + BOT_H - BOT_H * r["agree"] / max(honest, 1))
           for r in rows]
    out.append(polyline(pts, COLORS["agree"], 1.4))
    legend(out, [("honest nodes holding everything (of %d)" % honest, COLORS["agree"])],
           LEFT + 12, top2 + 18)
    time_ticks(out, rows, hours, top2 + BOT_H)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv", help="the --csv file of a fieldmesh-sim run")
    p.add_argument("-o", "--output", help="the SVG to write (default: stdout)")
    p.add_argument("--title", default=None, help="the chart's title")
    a = p.parse_args()
    rows = read(a.csv)
    svg = draw(rows, a.title or a.csv)
    if a.output:
        with open(a.output, "w", encoding="utf-8") as f:
            f.write(svg)
    else:
        sys.stdout.write(svg)


if __name__ == "__main__":
    main()
