"""Step P1: prepare the training data of pixla's plate detector (`pixla-plate`).

    python plate_prepare.py --mirrors /work/.mirror --out data-plates

reads each source of `sources.PLATE_SOURCES` from its repository snapshot at the pinned
commit (as `prepare.py` does; standard library only) and writes

    OUT/<source>/...        the source's images, byte for byte
    OUT/manifest.jsonl      one line per image: file, source, licence, split, size,
                            boxes [[0, x, y, w, h], ...] in pixels (0 = plate), sha256
    OUT/summary.json        counts per source and split, and plate widths by bucket
                            (< 10, 10-20, 20-40, 40-80, > 80 px)

Splits: the source's own train and valid. `../shared/fixtures` is validation only and never
read here; the repository reserved for independent evaluation (ria-com/nomeroff-net) neither.
"""

import argparse
import collections
import dataclasses
import hashlib
import json
from pathlib import Path

import prepare as P
import sources as S


def google_plates(mirrors: Path, out: Path, src: S.Source = S.GOOGLE_PLATES):
    gd = P.git_dir(mirrors, src)
    files = P.extract(gd, src.commit, ["LP_Detection/train", "LP_Detection/valid", src.licence_file], out / src.name)
    rows = []
    for split, folder in (("train", "train"), ("val", "valid")):
        d = json.loads(files[f"LP_Detection/{folder}/_annotations.coco.json"])
        plate_ids = {c["id"] for c in d["categories"] if c.get("supercategory") != "none"}
        by_img = collections.defaultdict(list)
        for a in d["annotations"]:
            if a["category_id"] in plate_ids:
                by_img[a["image_id"]].append(a["bbox"])
        for im in d["images"]:
            name = f"LP_Detection/{folder}/{im['file_name']}"
            if name not in files:
                continue
            w, h = P.size_of(files[name])
            boxes = [[0, round(x, 2), round(y, 2), round(bw, 2), round(bh, 2)] for x, y, bw, bh in by_img[im["id"]] if bw > 0 and bh > 0]
            rows.append(dict(file=f"{src.name}/{name}", source=src.name, licence=src.licence, split=split, w=w, h=h, boxes=boxes, ignore=[]))
    return rows


def summary(rows):
    s = collections.defaultdict(collections.Counter)
    for r in rows:
        k = f"{r['source']}/{r['split']}"
        s[k]["images"] += 1
        for _, x, y, w, h in r["boxes"]:
            s[k]["plates"] += 1
            s[k]["<10" if w < 10 else "10-20" if w < 20 else "20-40" if w < 40 else "40-80" if w < 80 else ">80"] += 1
    return {"counts": {k: dict(v) for k, v in sorted(s.items())}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", type=Path, required=True, help="folder of fetched snapshots (<owner>+<name>/repo)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data-plates")
    ap.add_argument("--at", help="read every snapshot at this revision instead of its pinned commit (for tests)")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for src, fn in ((S.GOOGLE_PLATES, google_plates),):
        if a.at:
            src = dataclasses.replace(src, commit=a.at)
        got = fn(a.mirrors, a.out, src)
        print(f"{src.name}: {len(got)} images, {sum(len(r['boxes']) for r in got)} plates")
        rows += got
    for r in rows:
        r["sha256"] = hashlib.sha256((a.out / r["file"]).read_bytes()).hexdigest()
    with open(a.out / "manifest.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    sm = summary(rows)
    sm["sources"] = {s.name: dict(repo=s.repo, commit=s.commit, licence=s.licence, licence_file=s.licence_file, attribution=s.attribution) for s in S.PLATE_SOURCES}
    (a.out / "summary.json").write_text(json.dumps(sm, indent=1))
    print(json.dumps(sm["counts"], indent=1))


if __name__ == "__main__":
    main()
