"""Write pixla-plate's validation split as `pixla eval` input: the plate pictures of one split
as they are, and the same pictures as a drone would see them (shrunk, seen from above,
JPEG-compressed), each with YOLO labels (`# labelled: plate`; classes.txt: person, car, plate).

    python plate_split.py --data data-plates --split val --out /tmp/plates-val

OUT/native: the pictures as they are. OUT/elevated: each picture shrunk to 1/2 and 1/4
(area filter), squashed vertically by cos(35 deg) (seen from above), saved as JPEG quality
85; the plates' boxes follow. Standard library and Pillow.
"""

import argparse
import json
import math
import shutil
from pathlib import Path

from PIL import Image

VIEWS = [(0.5, 35), (0.25, 35)]  # (scale, view from above in degrees: a vertical squash by cos)


def labels(boxes, w, h, sx, sy):
    out = ["# labelled: plate"]
    for _, x, y, bw, bh in boxes:
        out.append(f"2 {(x + bw / 2) * sx / w:.6f} {(y + bh / 2) * sy / h:.6f} {bw * sx / w:.6f} {bh * sy / h:.6f}")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    for sub in ("native", "elevated"):
        (a.out / sub / "images").mkdir(parents=True, exist_ok=True)
        (a.out / sub / "labels").mkdir(parents=True, exist_ok=True)
        (a.out / sub / "labels/classes.txt").write_text("person\ncar\nplate\n")
    for line in open(a.data / "manifest.jsonl"):
        r = json.loads(line)
        if r["split"] != a.split or not r["boxes"]:
            continue
        src = a.data / r["file"]
        stem = Path(r["file"]).stem.replace(".", "_")  # pixla eval takes the stem up to the first dot
        shutil.copyfile(src, a.out / "native/images" / (stem + src.suffix))
        (a.out / "native/labels" / (stem + ".txt")).write_text(labels(r["boxes"], r["w"], r["h"], 1, 1))
        im = Image.open(src).convert("RGB")
        for scale, deg in VIEWS:
            nw, nh = max(1, round(im.width * scale)), max(1, round(im.height * scale * math.cos(math.radians(deg))))
            name = f"{stem}_s{int(scale * 100)}"
            im.resize((nw, nh), Image.BOX).save(a.out / "elevated/images" / (name + ".jpg"), quality=85)
            # normalised YOLO coordinates do not change under a plain resize
            (a.out / "elevated/labels" / (name + ".txt")).write_text(labels(r["boxes"], r["w"], r["h"], 1, 1))


if __name__ == "__main__":
    main()
