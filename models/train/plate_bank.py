"""Step P1b: cut the training crops of pixla's plate detector (`pixla-plate`) once, ahead of time.

    python plate_bank.py --plates data-plates --aerial data --out bank-plates --crops 30000

The plate detector runs on vehicle crops, which pixla rescales so that their long side is
`VEHICLE_SIDE` px (upscaled at most `MAX_UP` times; `src/detect/plate.rs` uses the same
constants). So a crop here is made the way pixla would make it from a drone photo:

1. a plate of the prepared plate sets (`plate_prepare.py`) is given a width it could have in a
   drone frame: 5-90 px, log-uniform;
2. the picture is shrunk so (area filter), seen from above (squashed vertically by
   cos(0-65 deg), sheared, tilted up to 25 deg), blurred and JPEG-compressed at that size, as a
   drone camera stores it;
3. then rescaled as pixla rescales its vehicle crop: the vehicle around the plate is
   `plate width / share` long, share 0.1-0.35 (measured on the fixtures: 0.18-0.30), and
   that crop goes to `VEHICLE_SIDE` px, upscaled at most `MAX_UP` times;
4. and a `--size` window around the plate is cut out (every other plate inside it labelled).

A quarter of the crops hold no plate: parts of the plate pictures away from the plates (car
bodies, signs, text), and the vehicles of the aerial data seen from above (KIT AIS, HIT-UAV,
no plate visible), cut and rescaled exactly as pixla cuts a vehicle. Output as `bank.py`:
`x.u8`, `boxes.jsonl` (class 0 = plate), `bank.json`. Seeded per worker.
"""

import argparse
import io
import json
import math
import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

VEHICLE_SIDE = 256  # src/detect/plate.rs: VEHICLE_SIDE
MAX_UP = 4.0  # src/config.rs: Config::plate_upscale default
PAD = 0.1  # vehicle boxes are padded by 10 % before cutting (src/find/plates.rs)
TILT = 25.0  # degrees either way: a car on a slope, in a ditch, or a camera not level (first run: 12)


def load_plates(data: Path, split: str):
    rows = [json.loads(l) for l in open(data / "manifest.jsonl")]
    return [r for r in rows if r["split"] == split and r["boxes"]]


def load_vehicles(data: Path):
    """Rows of the aerial manifest with vehicles seen from above (negatives)."""
    if data is None or not (data / "manifest.jsonl").exists():
        return []
    rows = [json.loads(l) for l in open(data / "manifest.jsonl")]
    return [r for r in rows if r["split"] == "train" and r["view"] in ("nadir", "thermal") and any(b[0] == 1 for b in r["boxes"])]


class Cutter:
    def __init__(self, plates, pdir, vehicles, vdir, size, rng):
        self.plates, self.pdir, self.vehicles, self.vdir = plates, pdir, vehicles, vdir
        self.S, self.rng = size, rng
        self.cache = {}

    def image(self, d, f):
        k = (str(d), f)
        if k not in self.cache:
            if len(self.cache) > 64:
                self.cache.pop(next(iter(self.cache)))
            self.cache[k] = Image.open(d / f).convert("RGB")
        return self.cache[k]

    def crop(self):
        r = self.rng.random()
        if r < 0.75 or not self.vehicles:
            return self.plate_crop(negative=r > 0.6 and r < 0.75)
        return self.vehicle_crop()

    def degrade(self, pil):
        """Blur, noise and JPEG at the size a drone camera would store."""
        rng = self.rng
        if rng.random() < 0.4:
            pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
        if rng.random() < 0.25:
            a = np.asarray(pil).astype(np.float32)
            a += rng.normal(0, rng.uniform(2, 8), a.shape)
            pil = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        if rng.random() < 0.6:
            b = io.BytesIO()
            pil.save(b, "JPEG", quality=int(rng.integers(35, 93)))
            pil = Image.open(b).convert("RGB")
        return pil

    def plate_crop(self, negative=False):
        rng, S = self.rng, self.S
        row = self.plates[rng.integers(len(self.plates))]
        im = self.image(self.pdir, row["file"])
        W, H = im.size
        boxes = np.array([b[1:] for b in row["boxes"]], np.float32)
        p = boxes[rng.integers(len(boxes))]
        # 1. the plate's width in the drone frame, and the vehicle crop pixla would cut
        native = float(np.exp(rng.uniform(math.log(5), math.log(90))))
        share = rng.uniform(0.1, 0.35)
        vehicle = native / share * (1 + 2 * PAD)
        up = min(VEHICLE_SIDE / vehicle, MAX_UP)
        s1 = native / max(p[2], 1.0)  # source -> drone frame
        # 2. seen from above: vertical squash, shear, tilt
        squash = math.cos(math.radians(rng.uniform(0, 65)))
        shear = rng.uniform(-0.25, 0.25)
        tilt = math.radians(rng.uniform(-TILT, TILT))
        # the region of the source picture the final S-window can show, with a margin
        final = s1 * up  # source -> model input (before squash)
        half = S / final * 0.75 + p[2]
        cx, cy = p[0] + p[2] / 2, p[1] + p[3] / 2
        x0, y0 = int(max(cx - half, 0)), int(max(cy - half, 0))
        x1, y1 = int(min(cx + half, W)), int(min(cy + half, H))
        if x1 - x0 < 4 or y1 - y0 < 4:
            return self.plate_crop(negative)
        reg = im.crop((x0, y0, x1, y1))
        # affine in the drone frame: scale s1, squash vertically, shear, tilt about the plate
        A = np.array([[s1, 0], [0, s1 * squash]]) @ np.array([[1, shear], [0, 1]])
        c, s = math.cos(tilt), math.sin(tilt)
        A = np.array([[c, -s], [s, c]]) @ A
        pts = np.array([[0, 0], [x1 - x0, 0], [0, y1 - y0], [x1 - x0, y1 - y0]], np.float64) @ A.T
        lo = pts.min(0)
        dw, dh = np.ceil(pts.max(0) - lo).astype(int) + 1
        if dw * dh > 6e6 or dw < 2 or dh < 2:
            return self.plate_crop(negative)
        Ai = np.linalg.inv(A)
        off = Ai @ lo
        # PIL's transform maps output -> input; it does not filter when shrinking, so shrink
        # first with an area filter, then apply the small remaining affine
        pre = min(1.0, max(s1, 1e-3) * 1.5)
        if pre < 0.95:
            reg = reg.resize((max(1, int(reg.width * pre)), max(1, int(reg.height * pre))), Image.BOX)
            Ai2 = Ai * (pre)
            off2 = off * pre
        else:
            Ai2, off2, pre = Ai, off, 1.0
        drone = reg.transform((int(dw), int(dh)), Image.AFFINE, (Ai2[0, 0], Ai2[0, 1], off2[0], Ai2[1, 0], Ai2[1, 1], off2[1]), Image.BILINEAR, fillcolor=(114, 114, 114))
        drone = self.degrade(drone)
        # 3. pixla's rescaling of the vehicle crop
        big = drone.resize((max(1, round(drone.width * up)), max(1, round(drone.height * up))), Image.BICUBIC if up > 1 else Image.BOX)
        # boxes: source -> drone (affine of the corners, bounding box) -> model input
        def tf(b):
            x, y, w, h = b
            q = np.array([[x - x0, y - y0], [x - x0 + w, y - y0], [x - x0, y - y0 + h], [x - x0 + w, y - y0 + h]]) @ A.T - lo
            q = q * up
            return q.min(0), q.max(0)
        (a0, a1) = tf(p)
        # 4. the S-window: around the plate, or (negatives) away from every plate
        BW, BH = big.size
        all_boxes = [tf(b) for b in boxes]
        if negative:
            for _ in range(20):
                wx, wy = int(rng.integers(0, max(BW - S, 0) + 1)), int(rng.integers(0, max(BH - S, 0) + 1))
                if all(q1[0] < wx or q0[0] > wx + S or q1[1] < wy or q0[1] > wy + S for q0, q1 in all_boxes):
                    break
            else:
                return self.plate_crop(True)
        else:
            pw, ph = a1 - a0
            wx = int(rng.uniform(min(a1[0] - S, a0[0]), max(a1[0] - S, a0[0]) + 1)) if pw < S else int(a0[0])
            wy = int(rng.uniform(min(a1[1] - S, a0[1]), max(a1[1] - S, a0[1]) + 1)) if ph < S else int(a0[1])
        win = Image.new("RGB", (S, S), (114, 114, 114))
        vx0, vy0 = max(wx, 0), max(wy, 0)
        part = big.crop((vx0, vy0, min(wx + S, BW), min(wy + S, BH)))
        win.paste(part, (vx0 - wx, vy0 - wy))
        out, ignore = [], []
        for q0, q1 in all_boxes:
            bx0, by0, bx1, by1 = q0[0] - wx, q0[1] - wy, q1[0] - wx, q1[1] - wy
            cx0, cy0, cx1, cy1 = max(bx0, 0), max(by0, 0), min(bx1, S), min(by1, S)
            if cx1 <= cx0 or cy1 <= cy0:
                continue
            full = (bx1 - bx0) * (by1 - by0)
            if (cx1 - cx0) * (cy1 - cy0) < 0.6 * full or min(cx1 - cx0, cy1 - cy0) < 1.5:
                ignore.append([cx0, cy0, cx1 - cx0, cy1 - cy0])
            else:
                out.append([0, cx0, cy0, cx1 - cx0, cy1 - cy0])
        return np.asarray(win), out, ignore

    def vehicle_crop(self):
        """A vehicle seen from above, cut and rescaled as pixla cuts it: no plate to find."""
        rng, S = self.rng, self.S
        row = self.vehicles[rng.integers(len(self.vehicles))]
        vs = [b for b in row["boxes"] if b[0] == 1]
        _, x, y, w, h = vs[rng.integers(len(vs))]
        im = self.image(self.vdir, row["file"])
        px, py = w * PAD + 4, h * PAD + 4
        reg = im.crop((int(max(x - px, 0)), int(max(y - py, 0)), int(min(x + w + px, im.width)), int(min(y + h + py, im.height))))
        if rng.random() < 0.5:
            reg = reg.transpose(Image.ROTATE_90)
        up = min(VEHICLE_SIDE / max(reg.size), MAX_UP)
        big = reg.resize((max(1, round(reg.width * up)), max(1, round(reg.height * up))), Image.BICUBIC if up > 1 else Image.BOX)
        win = Image.new("RGB", (S, S), (114, 114, 114))
        win.paste(big.crop((0, 0, S, S)) if max(big.size) > S else big, (0, 0))
        return np.asarray(win), [], []


def work(args):
    pdir, vdir, out, size, seed, lo, hi = args
    pdir, vdir = Path(pdir), Path(vdir) if vdir else None
    rng = np.random.default_rng([seed, lo])
    cut = Cutter(load_plates(pdir, "train"), pdir, load_vehicles(vdir), vdir, size, rng)
    x = np.memmap(Path(out) / "x.u8", np.uint8, "r+", shape=(hi, size, size, 3))
    recs = []
    for i in range(lo, hi):
        img, boxes, ignore = cut.crop()
        x[i] = img
        recs.append(json.dumps(dict(boxes=np.round(np.array(boxes, np.float64), 2).tolist(), ignore=np.round(np.array(ignore, np.float64), 2).tolist(), nadir=False)))
        if (i - lo) % 1000 == 0:
            print(f"worker {lo}: {i - lo}/{hi - lo}", flush=True)
    x.flush()
    return lo, recs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plates", type=Path, default=Path(__file__).parent / "data-plates")
    ap.add_argument("--aerial", type=Path, default=Path(__file__).parent / "data", help="aerial data (prepare.py): vehicles from above as negatives")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "bank-plates")
    ap.add_argument("--crops", type=int, default=30000)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    np.memmap(a.out / "x.u8", np.uint8, "w+", shape=(a.crops, a.size, a.size, 3)).flush()
    cuts = np.linspace(0, a.crops, a.workers + 1).astype(int)
    jobs = [(str(a.plates), str(a.aerial) if a.aerial else "", str(a.out), a.size, a.seed, int(lo), int(hi)) for lo, hi in zip(cuts[:-1], cuts[1:])]
    with mp.Pool(a.workers) as pool:
        parts = dict(pool.map(work, jobs))
    with open(a.out / "boxes.jsonl", "w") as f:
        for lo in sorted(parts):
            f.write("\n".join(parts[lo]) + "\n")
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(a).items() if k != "workers"}
    (a.out / "bank.json").write_text(json.dumps(dict(settings, vehicle_side=VEHICLE_SIDE, max_up=MAX_UP, tilt=TILT), indent=1))
    print(f"{a.crops} crops of {a.size} px in {a.out}")


if __name__ == "__main__":
    main()
