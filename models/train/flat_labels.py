"""List the labelled boxes that lie on a flat patch of the picture: no person can be there.

    python flat_labels.py --data data --split test --out flat-test.json
    python3 eval_table.py e.json --exclude flat-test.json

human_rpi labels some uniform rectangles as persons: the blanked corners and logos of the
source videos (grey-level standard deviation 0 to 1 inside the box: 139 labels in val, 57 in
test, 48 of them 12 px tall or more, 4.4 % of the test persons of that height). No detector should fire there, so they are
listed here and `eval_table.py --exclude` reports hit rate and recall without them, beside
the figures over all labels. Output: {image name as in the split (`yolo_split.split_stem`):
[[x, y, w, h], ...]} in stored pixels.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from yolo_split import split_stem

FLAT = 2.0  # grey-level standard deviation inside the box, at most


def on_flat_patch(grey, x, y, w, h):
    """Whether the box [x, y, w, h] lies on a flat patch of `grey` (a 2-D array): at least 16
    pixels, grey-level standard deviation at most FLAT. `train.py --negatives` uses it too."""
    patch = grey[int(y) : int(y + h) + 1, int(x) : int(x + w) + 1]
    return patch.size >= 16 and patch.std() <= FLAT


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    out, seen = {}, 0
    for line in open(a.data / "manifest.jsonl"):
        r = json.loads(line)
        if r["split"] != a.split or not r["boxes"]:
            continue
        grey = np.asarray(Image.open(a.data / r["file"]).convert("L"), np.float32)
        for _, x, y, w, h in r["boxes"]:
            seen += 1
            if on_flat_patch(grey, x, y, w, h):
                out.setdefault(split_stem(r["file"]), []).append([x, y, w, h])
    a.out.write_text(json.dumps(out, indent=0) + "\n")
    n = sum(len(v) for v in out.values())
    print(f"{n} of {seen} labelled boxes of split {a.split} lie on flat patches, in {len(out)} images: {a.out}")


if __name__ == "__main__":
    main()
