"""How far does a region pixla hid change a detector's score of a weak detection nearby?
(Evidence for `pixla check`'s edge-effect reach, `src/delivery/check/edges.rs`.)

    python edge_reach.py MODEL.onnx LO HI IMAGE...

For every weak person peak of MODEL (raw heat in [LO, HI), at most 40 per image) on each whole
image (padded grey to a multiple of 32, as pixla pads a tile), a 16 x 16 px region is
pixelated in 4-px cells at a gap of 4-96 px (edge to edge) left of, right of, above or below the
peak's box, and the peak's raw score (the highest person heat within one output cell of it) is
measured again. Prints, per gap, the mean, 90th percentile and largest rise over the four
sides, and the share of peaks that rose by more than 0.03. Positions outside the image are
skipped. Needs onnxruntime, numpy and PIL (the training venv). Written for pixla.
"""

import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

GAPS = [4, 8, 16, 24, 32, 48, 64, 96]
SIDE, CELL = 16, 4  # the pixelated region and its cells, px
MAX_PEAKS = 40  # per image


def pad(a):
    """The image padded grey (114) to a multiple of 32, as pixla pads a tile."""
    H, W = a.shape[:2]
    out = np.full((-(-H // 32) * 32, -(-W // 32) * 32, 3), 114, np.uint8)
    out[:H, :W] = a
    return out


def pixelate(img, x0, y0):
    """Pixelate the SIDE x SIDE region at (x0, y0) in place; False where it leaves the image."""
    H, W = img.shape[:2]
    if x0 < 0 or y0 < 0 or x0 + SIDE > W or y0 + SIDE > H:
        return False
    r = img[y0 : y0 + SIDE, x0 : x0 + SIDE].astype(np.float32)
    for cy in range(0, SIDE, CELL):
        for cx in range(0, SIDE, CELL):
            r[cy : cy + CELL, cx : cx + CELL] = r[cy : cy + CELL, cx : cx + CELL].mean(axis=(0, 1))
    img[y0 : y0 + SIDE, x0 : x0 + SIDE] = r.astype(np.uint8)
    return True


def rises(session, img, lo, hi):
    """Per gap, the largest rise over the four sides of each weak peak of img."""
    run = lambda a: session.run(None, {"images": a.astype(np.float32).transpose(2, 0, 1)[None] / 255.0})[0][0]
    H, W = img.shape[:2]
    gw, gh = W // 4, H // 4
    o = run(img)  # 6 x N: cx, cy, w, h, person heat, vehicle heat
    out = {g: [] for g in GAPS}
    for i in np.where((o[4] >= lo) & (o[4] < hi))[0][:MAX_PEAKS]:
        cx, cy, bw, bh = o[:4, i]
        row, col = divmod(int(i), gw)
        near = [r * gw + c for r in range(row - 1, row + 2) for c in range(col - 1, col + 2) if 0 <= r < gh and 0 <= c < gw]
        base = o[4, near].max()
        x1, y1, x2, y2 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
        for g in GAPS:
            sides = [(x1 - g - SIDE, cy - SIDE / 2), (x2 + g, cy - SIDE / 2), (cx - SIDE / 2, y1 - g - SIDE), (cx - SIDE / 2, y2 + g)]
            best = None
            for mx, my in sides:
                im2 = img.copy()
                if pixelate(im2, int(mx), int(my)):
                    r = float(run(im2)[4, near].max() - base)
                    best = r if best is None else max(best, r)
            if best is not None:
                out[g].append(best)
    return out


def main():
    model, lo, hi, files = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    session = ort.InferenceSession(model, so)
    total = {g: [] for g in GAPS}
    for f in files:
        for g, r in rises(session, pad(np.asarray(Image.open(f).convert("RGB"))), lo, hi).items():
            total[g] += r
    for g in GAPS:
        a = np.array(total[g])
        print(f"gap {g:3d} px: n {len(a)}, mean rise {a.mean():+.4f}, p90 {np.quantile(a, 0.9):+.4f}, max {a.max():+.4f}, rises > 0.03: {np.mean(a > 0.03):.2f}")


if __name__ == "__main__":
    main()
