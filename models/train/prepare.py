"""Step 1: prepare the training data of pixla's aerial detector.

    python prepare.py --mirrors /work/.mirror --out data

reads each source of `sources.py` from its repository snapshot (a bare git directory
`MIRRORS/<owner>+<name>/repo`, as the search library's `fetch` leaves it) at the pinned
commit, converts every source's labels into one format and writes

    OUT/<source>/...            the source's images, byte for byte as the source has them
    OUT/manifest.jsonl          one line per image: file, source, licence, split, size, view,
                                boxes [[class, x, y, w, h], ...] in pixels (0 person,
                                1 vehicle) and ignore boxes [[x, y, w, h], ...]
    OUT/summary.json            counts per source, split and class, and box-size histograms

Splits: each source's own train/val/test where it has them (human_rpi train/valid/test,
HIT-UAV train/val/test); KIT AIS has none, so every 6th image (sorted by name) is val. The
test splits are for the final figures only; `train.py` never reads them.
"""

import argparse
import dataclasses
import collections
import hashlib
import json
import struct
import subprocess
import tarfile
from pathlib import Path

import sources as S

PERSON, VEHICLE = 0, 1


def git_dir(mirrors: Path, src: S.Source) -> Path:
    d = mirrors / src.repo.replace("/", "+") / "repo"
    if not d.exists():
        raise SystemExit(f"{d} is missing: fetch the repository {src.repo} first (search library: fetch github:{src.repo})")
    return d


def extract(gd: Path, commit: str, paths: list, dest: Path):
    """Every file under `paths` at `commit`: name -> bytes (also written under dest). A snapshot
    lacks its largest files; those are listed as missing and left out."""
    ls = subprocess.run(["git", f"--git-dir={gd}", "ls-tree", "-r", "-z", commit, "--", *paths], check=True, capture_output=True).stdout
    entries = [e.split(b"\t", 1) for e in ls.split(b"\0") if e]
    blobs = [(meta.split()[2].decode(), name.decode()) for meta, name in entries if meta.split()[1] == b"blob"]
    cat = subprocess.run(["git", f"--git-dir={gd}", "cat-file", "--batch"], input="".join(f"{o}\n" for o, _ in blobs).encode(), check=True, capture_output=True).stdout
    files, missing, pos = {}, [], 0
    for oid, name in blobs:
        nl = cat.index(b"\n", pos)
        head = cat[pos:nl].split()
        pos = nl + 1
        if head[-1] == b"missing":
            missing.append(name)
            continue
        n = int(head[2])
        b = cat[pos : pos + n]
        pos += n + 1
        files[name] = b
        p = dest / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b)
    if missing:
        print(f"{gd.parent.name}: {len(missing)} files absent from the snapshot, left out: {missing[:3]}...")
    return files


def size_of(b: bytes):
    """(width, height) of a PNG or JPEG from its header (IHDR; the first SOFn frame header),
    so this step needs nothing beyond Python's standard library."""
    if b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR":
        return struct.unpack(">II", b[16:24])
    if b[:2] == b"\xff\xd8":
        i = 2
        while i + 4 <= len(b):
            if b[i] != 0xFF:
                raise ValueError("JPEG: marker expected")
            m = b[i + 1]
            if m == 0xFF:  # fill byte
                i += 1
                continue
            if m in (0xD8, 0x01) or 0xD0 <= m <= 0xD7:  # no length
                i += 2
                continue
            n = struct.unpack(">H", b[i + 2 : i + 4])[0]
            if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):  # SOFn
                h, w = struct.unpack(">HH", b[i + 5 : i + 9])
                return w, h
            i += 2 + n
        raise ValueError("JPEG: no frame header")
    raise ValueError("neither PNG nor JPEG")


def human_rpi(mirrors: Path, out: Path, src: S.Source = S.HUMAN_RPI):
    files = extract(git_dir(mirrors, src), src.commit, ["train", "valid", "test", "README.dataset.txt"], out / src.name)
    rows = []
    for name in sorted(files):
        if not name.endswith((".jpg", ".jpeg", ".png")) or "/images/" not in name:
            continue
        split = {"train": "train", "valid": "val", "test": "test"}[name.split("/")[0]]
        w, h = size_of(files[name])
        label = name.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt"
        boxes = []
        for line in files.get(label, b"").decode().splitlines():
            v = [float(x) for x in line.split()]
            if len(v) < 5:
                continue
            xs, ys = v[1::2], v[2::2]
            if len(v) == 5:  # a plain YOLO box
                x0, y0, x1, y1 = v[1] - v[3] / 2, v[2] - v[4] / 2, v[1] + v[3] / 2, v[2] + v[4] / 2
            else:  # a polygon: its bounding box
                x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
            boxes.append([PERSON, round(x0 * w, 2), round(y0 * h, 2), round((x1 - x0) * w, 2), round((y1 - y0) * h, 2)])
        # the three augmented copies of one picture share the part before ".rf."
        group = name.split("/")[-1].split(".rf.")[0]
        rows.append(dict(file=f"{src.name}/{name}", source=src.name, licence=src.licence, split=split, w=w, h=h, view="oblique", group=group, boxes=boxes, ignore=[]))
    return rows


def hit_uav(mirrors: Path, out: Path, src: S.Source = S.HIT_UAV):
    gd = git_dir(mirrors, src)
    files = extract(gd, src.commit, ["normal_json", "LICENSE"], out / src.name)
    rows = []
    for split, ann in (("train", "train"), ("val", "val"), ("test", "test")):
        d = json.loads(files[f"normal_json/annotations/{ann}.json"])
        by_img = collections.defaultdict(list)
        for a in d["annotation"]:
            by_img[a["image_id"]].append(a)
        for im in d["images"]:
            name = f"normal_json/{split}/{im['filename']}"
            if name not in files:
                continue
            # file name: day(0)/night(1) _ altitude _ angle _ ... _ index
            parts = im["filename"].split("_")
            angle = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
            boxes, ignore = [], []
            for a in by_img[im["id"]]:
                x, y, w, h = a["bbox"]
                c = a["category_id"]
                if c == 0:
                    boxes.append([PERSON, x, y, w, h])
                elif c in (1, 3):
                    boxes.append([VEHICLE, x, y, w, h])
                else:  # bicycle (often ridden) and DontCare: neither positive nor negative
                    ignore.append([x, y, w, h])
            rows.append(dict(file=f"{src.name}/{name}", source=src.name, licence=src.licence, split=split, w=im["width"], h=im["height"], view="thermal", angle=angle, altitude=int(parts[1]) if parts[1].isdigit() else None, boxes=boxes, ignore=ignore))
    return rows


def kit_ais(mirrors: Path, out: Path, src: S.Source = S.KIT_AIS):
    gd = git_dir(mirrors, src)
    names = subprocess.run(["git", f"--git-dir={gd}", "ls-tree", "--name-only", src.commit], check=True, capture_output=True, text=True).stdout.split()
    keep = sorted(n for n in names if (n.startswith("MOS") or n.startswith("MunichStreet02-")) and n.endswith((".png", ".txt")))
    files = extract(gd, src.commit, keep + ["README.md"], out / src.name)
    rows = []
    pngs = sorted(n for n in files if n.endswith(".png"))
    for i, name in enumerate(pngs):
        w, h = size_of(files[name])
        boxes = []
        for line in files.get(name[:-4] + ".txt", b"").decode().splitlines():
            v = [float(x) for x in line.split()]
            if len(v) == 5:
                boxes.append([VEHICLE, round((v[1] - v[3] / 2) * w, 2), round((v[2] - v[4] / 2) * h, 2), round(v[3] * w, 2), round(v[4] * h, 2)])
        rows.append(dict(file=f"{src.name}/{name}", source=src.name, licence=src.licence, split="val" if i % 6 == 5 else "train", w=w, h=h, view="nadir", boxes=boxes, ignore=[]))
    return rows


def summary(rows):
    s = collections.defaultdict(lambda: collections.Counter())
    hist = collections.defaultdict(lambda: collections.Counter())
    for r in rows:
        k = f"{r['source']}/{r['split']}"
        s[k]["images"] += 1
        for c, x, y, w, h in r["boxes"]:
            cls = ["person", "vehicle"][c]
            s[k][cls] += 1
            side = max(w, h)
            b = "<8" if side < 8 else "8-16" if side < 16 else "16-32" if side < 32 else "32-64" if side < 64 else ">=64"
            hist[f"{k}/{cls}"][b] += 1
    return {"counts": {k: dict(v) for k, v in sorted(s.items())}, "long_side_px": {k: dict(v) for k, v in sorted(hist.items())}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", type=Path, required=True, help="folder of fetched snapshots (<owner>+<name>/repo)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    ap.add_argument("--only", nargs="*", help="source names (default: all)")
    ap.add_argument("--at", help="read every snapshot at this revision instead of its pinned commit (for tests)")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for src, fn in ((S.HUMAN_RPI, human_rpi), (S.HIT_UAV, hit_uav), (S.KIT_AIS, kit_ais)):
        if a.only and src.name not in a.only:
            continue
        if a.at:
            src = dataclasses.replace(src, commit=a.at)
        got = fn(a.mirrors, a.out, src)
        print(f"{src.name}: {len(got)} images, {sum(len(r['boxes']) for r in got)} boxes")
        rows += got
    for r in rows:
        r["sha256"] = hashlib.sha256((a.out / r["file"]).read_bytes()).hexdigest()
    with open(a.out / "manifest.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    sm = summary(rows)
    sm["sources"] = {s.name: dict(repo=s.repo, commit=s.commit, licence=s.licence, licence_file=s.licence_file, attribution=s.attribution) for s in S.SOURCES}
    (a.out / "summary.json").write_text(json.dumps(sm, indent=1))
    print(json.dumps(sm["counts"], indent=1))


if __name__ == "__main__":
    main()
