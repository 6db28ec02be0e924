"""Summarise `pixla eval --json` output for the model card: persons by box height (the
issue's buckets: < 12, 12-16, 16-32, 32-64, >= 64 px tall), with hit rate (>= 50 % of the box
hidden), recall at IoU 0.5, and precision over all person detections. Standard library only.

    pixla eval IMAGES LABELS --json > e.json && python3 eval_table.py e.json [--class person]
        [--exclude flat-test.json]

`--exclude` leaves out the labelled boxes that `flat_labels.py` found on flat patches (blanked
video corners that human_rpi labels as persons) and says how many it left out.
"""

import argparse
import json

from yolo_split import split_stem

BUCKETS = [(0, 12, "<12"), (12, 16, "12-16"), (16, 32, "16-32"), (32, 64, "32-64"), (64, 1e9, ">=64")]


def same(a, b):
    """Whether two [x, y, w, h] boxes are the same label (to a pixel, after rounding)."""
    return all(abs(p - q) <= 1.0 for p, q in zip(a, b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="+")
    ap.add_argument("--class", dest="cls", default="person")
    ap.add_argument("--exclude", help="JSON {image name as in the split: [[x, y, w, h], ...]} of labels to leave out (flat_labels.py)")
    a = ap.parse_args()
    skip = json.load(open(a.exclude)) if a.exclude else {}
    for path in a.json:
        v = json.load(open(path))
        rows = {b[2]: [0, 0, 0] for b in BUCKETS}  # gt, hit, found
        dets = matched = left_out = 0
        for im in v["images"]:
            flat = skip.get(split_stem(im["image"]), [])
            for g in im["gt"]:
                if g["class"] != a.cls:
                    continue
                if any(same(g["box"], f) for f in flat):
                    left_out += 1
                    continue
                h = g["box"][3]
                k = next(name for lo, hi, name in BUCKETS if lo <= h < hi)
                rows[k][0] += 1
                rows[k][1] += bool(g["hit"])
                rows[k][2] += bool(g["found"])
            for d in im["detections"]:
                if d["class"] == a.cls and d.get("labelled", True):
                    dets += 1
                    matched += bool(d["matched"])
        s = v["summary"].get(a.cls, {})
        print(f"{path}: {len(v['images'])} images, area redacted {v['area_redacted'] * 100:.2f} %, precision {s.get('precision')}, {dets} detections")
        if a.exclude:
            print(f"left out: {left_out} labelled boxes on flat patches ({a.exclude})")
        print("| height | labelled | hit rate | recall (IoU 0.5) |")
        print("|---|---|---|---|")
        tot = [0, 0, 0]
        for _, _, name in BUCKETS:
            g, h, f = rows[name]
            tot = [tot[0] + g, tot[1] + h, tot[2] + f]
            if g:
                print(f"| {name} px | {g} | {h / g:.3f} | {f / g:.3f} |")
        ge12 = [sum(rows[n][i] for _, _, n in BUCKETS[1:]) for i in range(3)]
        if ge12[0]:
            print(f"| >= 12 px | {ge12[0]} | {ge12[1] / ge12[0]:.3f} | {ge12[2] / ge12[0]:.3f} |")
        if tot[0]:
            print(f"| all | {tot[0]} | {tot[1] / tot[0]:.3f} | {tot[2] / tot[0]:.3f} |")


if __name__ == "__main__":
    main()
