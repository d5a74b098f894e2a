#!/usr/bin/env python3
"""Draws the throughput bench's CSV as an SVG bar chart, by hand (no plotting library).

    python3 scripts/throughput-chart.py benches/results/throughput.csv benches/results/throughput.svg \
        "tables of 2^22 slots"

One panel per workload; in each, one group of bars per thread count, one bar per map: the median
throughput over the rounds, with a thin line from the slowest to the fastest round.
"""

import csv
import statistics
import sys
from collections import defaultdict
from xml.sax.saxutils import escape

COLOURS = {
    "mapsafe": "#d62728",
    "mapsafe-versioned": "#ff9896",
    "dashmap": "#1f77b4",
    "dashmap-foldhash": "#aec7e8",
    "scc": "#2ca02c",
    "papaya": "#9467bd",
    "rwlock-std": "#8c564b",
    "rwlock-hashbrown": "#c49c94",
    "hashbrown-unsync": "#7f7f7f",
}
PANEL_W, PANEL_H, MARGIN_L, MARGIN_T, GAP = 380, 300, 60, 50, 30


def load(path):
    runs = defaultdict(list)  # (workload, threads, map) -> [mops]
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            runs[(row["workload"], int(row["threads"]), row["map"])].append(float(row["mops"]))
    return runs


def main(src, dst, subtitle=""):
    runs = load(src)
    workloads = list(dict.fromkeys(w for w, _, _ in runs))
    threads = sorted({t for _, t, _ in runs})
    maps = [m for m in COLOURS if any(k[2] == m for k in runs)]
    maps += sorted({m for _, _, m in runs} - set(maps))
    width = MARGIN_L + len(workloads) * (PANEL_W + GAP)
    height = MARGIN_T + PANEL_H + 90
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15">'
        "Throughput, million operations per second (median of rounds; higher is better)"
        + (f", {escape(subtitle)}" if subtitle else "")
        + "</text>",
    ]
    for p, workload in enumerate(workloads):
        x0 = MARGIN_L + p * (PANEL_W + GAP)
        y0 = MARGIN_T
        top = max(max(v) for (w, _, _), v in runs.items() if w == workload)
        scale = PANEL_H / (top * 1.08)
        out.append(
            f'<text x="{x0 + PANEL_W / 2}" y="{y0 - 8}" text-anchor="middle" '
            f'font-weight="bold">{escape(workload)}</text>'
        )
        step = 10 ** (len(str(int(top))) - 1) or 1
        if top / step < 4:
            step /= 2
        tick = 0.0
        while tick <= top * 1.08:
            y = y0 + PANEL_H - tick * scale
            out.append(
                f'<line x1="{x0}" x2="{x0 + PANEL_W}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            )
            out.append(
                f'<text x="{x0 - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{tick:g}</text>'
            )
            tick += step
        group_w = PANEL_W / len(threads)
        for g, t in enumerate(threads):
            present = [m for m in maps if (workload, t, m) in runs]
            bar_w = (group_w - 16) / max(len(maps), 1)
            gx = x0 + g * group_w + 8 + (len(maps) - len(present)) * bar_w / 2
            for i, m in enumerate(present):
                values = runs[(workload, t, m)]
                med = statistics.median(values)
                x = gx + i * bar_w
                y = y0 + PANEL_H - med * scale
                out.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" '
                    f'height="{med * scale:.1f}" fill="{COLOURS.get(m, "#bcbd22")}">'
                    f"<title>{escape(m)}, {t} thread(s): {med:.2f} Mops/s</title></rect>"
                )
                lo, hi = min(values), max(values)
                cx = x + (bar_w - 1) / 2
                out.append(
                    f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y0 + PANEL_H - hi * scale:.1f}" '
                    f'y2="{y0 + PANEL_H - lo * scale:.1f}" stroke="black" stroke-width="1"/>'
                )
            out.append(
                f'<text x="{x0 + g * group_w + group_w / 2:.1f}" y="{y0 + PANEL_H + 16}" '
                f'text-anchor="middle">{t} thread{"s" if t > 1 else ""}</text>'
            )
        out.append(
            f'<line x1="{x0}" x2="{x0 + PANEL_W}" y1="{y0 + PANEL_H}" y2="{y0 + PANEL_H}" '
            'stroke="black"/>'
        )
    lx, ly = MARGIN_L, MARGIN_T + PANEL_H + 40
    for i, m in enumerate(maps):
        x = lx + (i % 5) * 200
        y = ly + (i // 5) * 18
        out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{COLOURS.get(m, "#bcbd22")}"/>')
        out.append(f'<text x="{x + 16}" y="{y}">{escape(m)}</text>')
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
