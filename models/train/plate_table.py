"""Summarise `pixla eval --json` output for pixla-plate's model card: plates by labelled
width (< 10, 10-20, 20-40, > 40 px), with hit rate (>= 50 % of the plate hidden), recall at
IoU 0.5, precision over all plate regions (plate bands included: they are plate fills), and
the mean fill area over the labelled plate's area for the fills that found a plate (a fill
is the region's box padded by pixla's margin, 15 % + 2 px a side, the 2 px at most a
quarter of the plate's shorter side). Standard library only.

    pixla eval IMAGES LABELS --json > e.json && python3 plate_table.py e.json
"""

import argparse
import json

BUCKETS = [(0, 10, "<10"), (10, 20, "10-20"), (20, 40, "20-40"), (40, 1e9, ">40")]
MARGIN, MARGIN_PX = 0.15, 2.0


def fill_area(b):
    """pixla's plate fill for a detected box: 15 % a side plus 2 px, the 2 px capped at a
    quarter of the plate's shorter side (`file::plan::margin_px`)."""
    x, y, w, h = b
    px = min(MARGIN_PX, min(w, h) / 4)
    return (w + 2 * (w * MARGIN + px)) * (h + 2 * (h * MARGIN + px))


def iou(a, b):
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = max(0, min(ax2, bx2) - max(a[0], b[0])), max(0, min(ay2, by2) - max(a[1], b[1]))
    i = iw * ih
    return i / (a[2] * a[3] + b[2] * b[3] - i) if i else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="+")
    a = ap.parse_args()
    for path in a.json:
        v = json.load(open(path))
        rows = {b[2]: [0, 0, 0] for b in BUCKETS}
        dets = matched = bands = 0
        ratios = []
        for im in v["images"]:
            gts = [g for g in im["gt"] if g["class"] == "plate"]
            for g in gts:
                k = next(name for lo, hi, name in BUCKETS if lo <= g["box"][2] < hi)
                rows[k][0] += 1
                rows[k][1] += bool(g["hit"])
                rows[k][2] += bool(g["found"])
            for d in im["detections"]:
                if d["class"] != "plate" or not d.get("labelled", True):
                    continue
                dets += 1
                bands += d["score"] == 0
                matched += bool(d["matched"])
                if d["matched"]:
                    g = max(gts, key=lambda g: iou(g["box"], d["box"]))
                    ratios.append(fill_area(d["box"]) / max(g["box"][2] * g["box"][3], 1e-6))
        prec = matched / dets if dets else None
        print(f"{path}: {len(v['images'])} images, area redacted {v['area_redacted'] * 100:.2f} %, {dets} plate regions ({bands} bands), precision {prec if prec is None else round(prec, 3)}, mean fill / plate area {sum(ratios) / len(ratios) if ratios else float('nan'):.2f}")
        print("| width | labelled | hit rate | recall (IoU 0.5) |")
        print("|---|---|---|---|")
        for _, _, name in BUCKETS:
            g, h, f = rows[name]
            if g:
                print(f"| {name} px | {g} | {h / g:.3f} | {f / g:.3f} |")
        ge = [sum(rows[n][i] for _, _, n in BUCKETS[1:]) for i in range(3)]
        if ge[0]:
            print(f"| >= 10 px | {ge[0]} | {ge[1] / ge[0]:.3f} | {ge[2] / ge[0]:.3f} |")


if __name__ == "__main__":
    main()
