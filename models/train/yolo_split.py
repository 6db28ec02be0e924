"""Write one split of the prepared data as `pixla eval` input: per source, images/ (copies of
the prepared files) and labels/ (YOLO txt, classes.txt: person, car).

    python yolo_split.py --data data --split val --out /tmp/val [--min-angle 60]
"""

import argparse
import json
import shutil
from pathlib import Path


def split_stem(file):
    """The name (without folder and extension) an image gets in a split: dots as underscores,
    because pixla eval takes the stem up to the first dot. `eval_table.py --exclude` and
    `flat_labels.py` key images by it too."""
    return Path(file).stem.replace(".", "_")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--min-angle", type=int, default=None, help="HIT-UAV: only frames with a camera angle of at least this")
    a = ap.parse_args()
    for line in open(a.data / "manifest.jsonl"):
        r = json.loads(line)
        if r["split"] != a.split or (a.min_angle and r.get("angle") is not None and r["angle"] < a.min_angle):
            continue
        d = a.out / r["source"]
        (d / "images").mkdir(parents=True, exist_ok=True)
        (d / "labels").mkdir(parents=True, exist_ok=True)
        (d / "labels/classes.txt").write_text("person\ncar\n")
        src = (a.data / r["file"]).resolve()
        stem = split_stem(r["file"])
        dst = d / "images" / (stem + src.suffix)
        if not dst.exists():  # a copy: pixla refuses symbolic links as input
            shutil.copyfile(src, dst)
        w, h = r["w"], r["h"]
        lines = ["# labelled: person,car"] + [f"{c} {(x + bw / 2) / w:.6f} {(y + bh / 2) / h:.6f} {bw / w:.6f} {bh / h:.6f}" for c, x, y, bw, bh in r["boxes"]]
        (d / "labels" / (stem + ".txt")).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
