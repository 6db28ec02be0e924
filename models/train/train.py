"""Step 2: train pixla's aerial person and vehicle detector (`pixla-aerial`).

    python train.py --data data --out runs/aerial [--minutes 100] [--threads 2]

A small centre-point detector with a stride-4 output, made for people 6-60 px tall seen from
a drone: a MobileNet-like backbone to stride 16, a top-down neck back to stride 4, and per
output cell a heat map per class (person, vehicle), a sub-cell offset and a log box size
(CenterNet's formulation: penalty-reduced focal loss on Gaussian peaks, L1 on offset and
size). Trained on 320x320 crops at native resolution (random scale 0.6-1.6, flips, quarter
turns for nadir and thermal views, colour, blur, noise, JPEG), with synthetic people
(`synth.py`) pasted onto a share of the crops. Written for pixla; no code taken from
elsewhere.

Resumable: `OUT/last.pt` is written every `--save-every` steps and at the end; a re-run with
the same OUT continues from it (the settings must be the same). Seeded (`--seed`); the
settings and the loss per step are recorded in `OUT/settings.json` and `OUT/log.jsonl`.
Uses CUDA when present. `--minutes` is a wall-time budget: training stops cleanly when it is
spent and the learning rate schedule is laid out over it, so a run always ends annealed.
"""

import argparse
import io
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageFilter

import synth
from flat_labels import on_flat_patch

NC = 2  # person, vehicle
STRIDE = 4
SIZE_WEIGHT = 1.0  # the first run's boxes were about 2x too narrow at 0.5
WIDTHS = {"base": dict(w=(16, 32, 64, 128), neck=64, head=48), "wide": dict(w=(24, 48, 96, 160), neck=64, head=48)}


# ---------------------------------------------------------------- model
def cbr(i, o, k=3, s=1, g=1):
    return nn.Sequential(nn.Conv2d(i, o, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class DW(nn.Module):
    """Depthwise 3x3 then pointwise 1x1; residual when the shape is kept."""

    def __init__(self, i, o, s=1):
        super().__init__()
        self.dw = cbr(i, i, 3, s, i)
        self.pw = cbr(i, o, 1)
        self.res = s == 1 and i == o

    def forward(self, x):
        y = self.pw(self.dw(x))
        return x + y if self.res else y


class AerialNet(nn.Module):
    def __init__(self, w=(16, 32, 64, 128), neck=64, head=48, nc=NC):
        super().__init__()
        self.stem = cbr(3, w[0], 3, 2)
        self.s4 = nn.Sequential(DW(w[0], w[1], 2), DW(w[1], w[1]))
        self.s8 = nn.Sequential(DW(w[1], w[2], 2), DW(w[2], w[2]), DW(w[2], w[2]))
        self.s16 = nn.Sequential(DW(w[2], w[3], 2), DW(w[3], w[3]), DW(w[3], w[3]))
        self.l16, self.l8, self.l4 = cbr(w[3], neck, 1), cbr(w[2], neck, 1), cbr(w[1], neck, 1)
        self.f8 = DW(neck, neck)
        self.f4 = nn.Sequential(DW(neck, head), DW(head, head))
        self.hm = nn.Sequential(DW(head, head), nn.Conv2d(head, nc, 1))
        self.reg = nn.Sequential(DW(head, head), nn.Conv2d(head, 4, 1))
        nn.init.constant_(self.hm[-1].bias, -2.19)

    def forward(self, x):
        """x: N,3,H,W RGB in 0..1. Returns heat-map logits N,NC,H/4,W/4 and N,4,H/4,W/4
        (offset x, offset y, log(w/4), log(h/4))."""
        x = (x - 0.45) / 0.25
        a4 = self.s4(self.stem(x))
        a8 = self.s8(a4)
        a16 = self.s16(a8)
        p8 = self.f8(self.l8(a8) + F.interpolate(self.l16(a16), scale_factor=2.0, mode="nearest"))
        p4 = self.f4(self.l4(a4) + F.interpolate(p8, scale_factor=2.0, mode="nearest"))
        return self.hm(p4), self.reg(p4)


class Export(nn.Module):
    """The deployed graph: RGB 0..1 in, YOLOv8-style `[1, 4+NC, N]` out (cx, cy, w, h in
    input pixels, then per-class scores), with the centre-point peak rule (a 3x3 max pool)
    applied, so pixla's YOLO reader and its NMS take it as it is."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        hm, reg = self.net(x)
        heat = torch.sigmoid(hm)
        peak = (F.max_pool2d(heat, 3, 1, 1) == heat).to(heat.dtype)
        heat = heat * peak
        n, _, h, w = heat.shape
        gy = torch.arange(h, dtype=x.dtype).view(1, 1, h, 1).expand(1, 1, h, w)
        gx = torch.arange(w, dtype=x.dtype).view(1, 1, 1, w).expand(1, 1, h, w)
        cx = (gx + reg[:, 0:1]) * STRIDE
        cy = (gy + reg[:, 1:2]) * STRIDE
        bw = torch.exp(reg[:, 2:3].clamp(-3, 5)) * STRIDE
        bh = torch.exp(reg[:, 3:4].clamp(-3, 5)) * STRIDE
        out = torch.cat([cx, cy, bw, bh, heat], 1)
        return out.flatten(2)


# ---------------------------------------------------------------- data
def load(data: Path, split: str):
    rows = [json.loads(l) for l in open(data / "manifest.jsonl")]
    rows = [r for r in rows if r["split"] == split]
    imgs = []
    for r in rows:
        im = Image.open(data / r["file"]).convert("RGB")
        imgs.append(np.asarray(im))
    return rows, imgs


class Sampler:
    """Random training crops with their boxes, from the prepared sources and synthetic people."""

    def __init__(self, rows, imgs, size, rng, weights, synth_p, snow_p=0.0):
        self.size, self.rng, self.synth_p, self.snow_p = size, rng, synth_p, snow_p
        self.by_src = {}
        for r, im in zip(rows, imgs):
            self.by_src.setdefault(r["source"], []).append((r, im))
        self.srcs = [s for s in weights if s in self.by_src]
        p = np.array([weights[s] for s in self.srcs], np.float64)
        self.p = p / p.sum()

    def crop(self, turn=True):
        """One crop: (image SxSx3 uint8, boxes [class, x, y, w, h], ignore [x, y, w, h],
        whether the view is from above). `turn=False` leaves mirroring and turning to the
        training loop (`geometric`), as the stored bank does."""
        rng, S = self.rng, self.size
        src = self.srcs[rng.choice(len(self.srcs), p=self.p)]
        r, im = self.by_src[src][rng.integers(len(self.by_src[src]))]
        scale = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
        H, W = im.shape[:2]
        cw, ch = min(W, int(S / scale)), min(H, int(S / scale))
        x0, y0 = int(rng.integers(0, W - cw + 1)), int(rng.integers(0, H - ch + 1))
        pil = Image.fromarray(im[y0 : y0 + ch, x0 : x0 + cw]).resize((int(cw * scale), int(ch * scale)), Image.BILINEAR)
        # outside the picture: grey, black, white or a random colour, because the images pixla
        # sees have borders too (screenshots, rotated orthophotos with black corners)
        fill = [(114, 114, 114), (0, 0, 0), (255, 255, 255), tuple(int(v) for v in rng.integers(0, 256, 3))][int(rng.integers(4))]
        img = np.empty((S, S, 3), np.uint8)
        img[:] = fill
        a = np.asarray(pil)
        img[: a.shape[0], : a.shape[1]] = a
        sx, sy = a.shape[1] / cw, a.shape[0] / ch
        boxes, ignore = [], []
        for c, x, y, w, h in r["boxes"]:
            if r["source"] == "human_rpi" and (max(w, h) > 160 or max(w, h) > 6 * min(w, h)):
                # a few polygons of that export span half the picture: not a person
                ignore.append([(x - x0) * sx, (y - y0) * sy, w * sx, h * sy])
                continue
            bx, by, bw, bh = (x - x0) * sx, (y - y0) * sy, w * sx, h * sy
            cx1, cy1 = max(bx, 0), max(by, 0)
            cx2, cy2 = min(bx + bw, a.shape[1]), min(by + bh, a.shape[0])
            if cx2 <= cx1 or cy2 <= cy1:
                continue
            if (cx2 - cx1) * (cy2 - cy1) < 0.5 * bw * bh or min(cx2 - cx1, cy2 - cy1) < 2:
                ignore.append([cx1, cy1, cx2 - cx1, cy2 - cy1])
            else:
                boxes.append([c, cx1, cy1, cx2 - cx1, cy2 - cy1])
        for x, y, w, h in r["ignore"]:
            ignore.append([(x - x0) * sx, (y - y0) * sy, w * sx, h * sy])
        nadir = r["view"] in ("nadir", "thermal")
        if self.snow_p and rng.random() < self.snow_p:
            return (*self.winter(img, boxes, ignore, turn), True)
        if rng.random() < self.synth_p * (1.5 if r["view"] == "nadir" else 0.7):
            for b in synth.paste(img, rng, int(rng.integers(1, 7)), (8, 44)):
                boxes.append([0, *b])
        if nadir and rng.random() < 0.3:  # bare branches over the ground, over people or not
            synth.branches(img, rng)
        return (*self.augment(img, boxes, ignore, nadir, turn), nadir)

    def winter(self, img, boxes, ignore, turn):
        """The crop as snow seen from above (`synth.snow`): its own labels become ignore
        regions, 0-6 people in winter clothing are drawn on it, and bare trees over them."""
        rng = self.rng
        synth.snow(img, rng)
        ignore = ignore + [b[1:] for b in boxes]
        boxes = [[0, *b] for b in synth.paste(img, rng, int(rng.integers(0, 7)), (8, 44), winter=True)]
        for _ in range(int(rng.integers(0, 4))):
            synth.branches(img, rng)
        return self.augment(img, boxes, ignore, True, turn)

    def augment(self, img, boxes, ignore, nadir, turn):
        rng = self.rng
        boxes = np.array(boxes, np.float32).reshape(-1, 5)
        ignore = np.array(ignore, np.float32).reshape(-1, 4)
        if turn:
            img, boxes, ignore = geometric(img, boxes, ignore, nadir, rng)
        f = np.ascontiguousarray(img).astype(np.float32)
        if rng.random() < 0.8:  # brightness, contrast, saturation
            f = (f - f.mean()) * rng.uniform(0.7, 1.3) + f.mean() * rng.uniform(0.75, 1.25)
            grey = f.mean(axis=2, keepdims=True)
            f = grey + (f - grey) * rng.uniform(0.6, 1.4)
        if rng.random() < 0.1:
            f = np.repeat(f.mean(axis=2, keepdims=True), 3, axis=2)
        if rng.random() < 0.3:
            f += rng.normal(0, rng.uniform(2, 8), f.shape)
        pil = Image.fromarray(np.clip(f, 0, 255).astype(np.uint8))
        if rng.random() < 0.3:
            pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.1)))
        if rng.random() < 0.3:
            b = io.BytesIO()
            pil.save(b, "JPEG", quality=int(rng.integers(40, 92)))
            pil = Image.open(b).convert("RGB")
        return np.asarray(pil), boxes, ignore


def geometric(img, boxes, ignore, nadir, rng):
    """Mirror, and for views from above quarter turns, of a square crop and its boxes."""
    S = img.shape[0]
    boxes, ignore = boxes.copy(), ignore.copy()
    if rng.random() < 0.5:  # mirror
        img = img[:, ::-1]
        boxes[:, 1] = S - boxes[:, 1] - boxes[:, 3]
        ignore[:, 0] = S - ignore[:, 0] - ignore[:, 2]
    if nadir:
        for _ in range(int(rng.integers(4))):  # quarter turns (counter-clockwise)
            img = np.rot90(img)
            boxes = boxes[:, [0, 2, 1, 4, 3]].copy()
            boxes[:, 2] = S - boxes[:, 2] - boxes[:, 4]
            ignore = ignore[:, [1, 0, 3, 2]].copy()
            ignore[:, 1] = S - ignore[:, 1] - ignore[:, 3]
    return np.ascontiguousarray(img), boxes, ignore


def targets(boxes, ignore, S, nc=NC):
    """Heat map (nc, S/4, S/4), regression targets and their mask, ignore mask."""
    g = S // STRIDE
    hm = np.zeros((nc, g, g), np.float32)
    reg = np.zeros((4, g, g), np.float32)
    mask = np.zeros((g, g), np.float32)
    ign = np.ones((nc, g, g), np.float32)
    ys, xs = np.mgrid[0:g, 0:g].astype(np.float32)
    for x, y, w, h in ignore:
        x1, y1 = int(max(x / STRIDE, 0)), int(max(y / STRIDE, 0))
        x2, y2 = int(min(math.ceil((x + w) / STRIDE), g)), int(min(math.ceil((y + h) / STRIDE), g))
        ign[:, y1:y2, x1:x2] = 0
    for c, x, y, w, h in boxes:
        cx, cy = (x + w / 2) / STRIDE, (y + h / 2) / STRIDE
        ix, iy = int(min(cx, g - 1)), int(min(cy, g - 1))
        sig = max(0.5, math.sqrt(w * h) / STRIDE / 6)
        r = int(3 * sig) + 1
        wy, wx = slice(max(iy - r, 0), min(iy + r + 1, g)), slice(max(ix - r, 0), min(ix + r + 1, g))
        gauss = np.exp(-((xs[wy, wx] - ix) ** 2 + (ys[wy, wx] - iy) ** 2) / (2 * sig * sig))
        hm[int(c), wy, wx] = np.maximum(hm[int(c), wy, wx], gauss)
        reg[:, iy, ix] = [cx - ix, cy - iy, math.log(max(w, 1) / STRIDE), math.log(max(h, 1) / STRIDE)]
        mask[iy, ix] = 1
        ign[int(c), iy, ix] = 1
    return hm, reg, mask, ign


def drop_flat(img, boxes):
    """Persons labelled on flat patches (human_rpi's blanked video corners: `flat_labels.py`)
    become background: nothing is there to see."""
    grey = img.mean(axis=2)
    keep = [not (c == 0 and on_flat_patch(grey, x, y, w, h)) for c, x, y, w, h in boxes]
    return boxes[np.array(keep, bool)] if len(boxes) else boxes


def redacted(img, boxes, ignore, rng):
    """pixla's own output as a negative: some persons and a few random patches are hidden as
    pixla hides them (padded, cut into flat cells: the 8 or 16-px MCU cells of the lossless
    JPEG path or about 4 cells across the short side; one in ten a solid black fill), and what is
    hidden is no longer labelled. `pixla check` must pass a delivery pixla made, so the model
    has to learn that a mosaic is nobody."""
    S = img.shape[0]
    img = img.copy()
    regions = []
    for c, x, y, w, h in boxes:
        if c == 0 and rng.random() < 0.6:
            m = max(0.15 * max(w, h), 4.0)
            regions.append((x - m, y - m, w + 2 * m, h + 2 * m))
    for _ in range(int(rng.integers(0, 3))):
        w, h = np.exp(rng.uniform(np.log(10), np.log(160), 2))
        regions.append((rng.uniform(-w / 2, S - w / 2), rng.uniform(-h / 2, S - h / 2), w, h))
    cover = np.zeros((S, S), bool)
    for region in regions:
        hidden = hide(img, *region, rng)
        if hidden:
            x1, y1, x2, y2 = hidden
            cover[y1:y2, x1:x2] = True
    keep, extra = [], []
    for c, x, y, w, h in boxes:
        x1, y1, x2, y2 = int(max(x, 0)), int(max(y, 0)), int(min(np.ceil(x + w), S)), int(min(np.ceil(y + h), S))
        share = cover[y1:y2, x1:x2].mean() if x2 > x1 and y2 > y1 else 0.0
        keep.append(share < 0.1)
        if 0.1 <= share < 0.5:
            extra.append([x, y, w, h])
    boxes = boxes[np.array(keep, bool)] if len(boxes) else boxes
    ignore = np.concatenate([ignore, np.array(extra, np.float32).reshape(-1, 4)])
    return img, boxes, ignore


def hide(img, x, y, w, h, rng):
    """Hide the box [x, y, w, h] of img in place as pixla does (one time in ten a black fill,
    else flat cells on an 8 or 16-px grid, sometimes 4, or about 4 cells across the short
    side); returns the pixels hidden as (x1, y1, x2, y2), or None where less than 2 px of it
    lies in the image (nothing drawn)."""
    S = img.shape[0]
    x1, y1 = int(max(np.floor(x), 0)), int(max(np.floor(y), 0))
    x2, y2 = int(min(np.ceil(x + w), S)), int(min(np.ceil(y + h), S))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    if rng.random() < 0.1:
        img[y1:y2, x1:x2] = 0
        return x1, y1, x2, y2
    cell = int(rng.choice([4, 8, 8, 16, 16, 0]))
    cell = cell or max(2, -(-min(x2 - x1, y2 - y1) // 4))
    ox, oy = (int(rng.integers(cell)), int(rng.integers(cell))) if cell in (4, 8, 16) else (x1, y1)
    gx = sorted({x1, x2, *[v for v in range(ox % cell, S, cell) if x1 < v < x2]})
    gy = sorted({y1, y2, *[v for v in range(oy % cell, S, cell) if y1 < v < y2]})
    for ya, yb in zip(gy[:-1], gy[1:]):
        for xa, xb in zip(gx[:-1], gx[1:]):
            img[ya:yb, xa:xb] = img[ya:yb, xa:xb].reshape(-1, 3).mean(axis=0)
    return x1, y1, x2, y2


def beside(img, boxes, rng):
    """The crop with 1-2 regions of 8-48 px hidden (`hide`) 4-48 px beside its persons (at
    random where it has none), and the output cells they leave untouched (a one-cell margin
    around each region is left out): what the network sees there should not change. pixla's
    hiding lifts weak detections nearby (`edge_reach.py`), and `pixla check` then refuses
    pixla's own output; `--consistency` trains that sensitivity away."""
    S = img.shape[0]
    img = img.copy()
    keep = np.ones((S // STRIDE, S // STRIDE), np.float32)
    persons = [b for b in boxes if b[0] == 0]
    for _ in range(int(rng.integers(1, 3))):
        w, h = np.exp(rng.uniform(np.log(8), np.log(48), 2))
        if persons:
            _, px, py, pw, ph = persons[int(rng.integers(len(persons)))]
            gap, side = rng.uniform(4, 48), int(rng.integers(4))
            x = [px - gap - w, px + pw + gap, px + pw / 2 - w / 2, px + pw / 2 - w / 2][side]
            y = [py + ph / 2 - h / 2, py + ph / 2 - h / 2, py - gap - h, py + ph + gap][side]
        else:
            x, y = rng.uniform(0, S - w), rng.uniform(0, S - h)
        hidden = hide(img, x, y, w, h, rng)
        if not hidden:
            continue
        x1, y1, x2, y2 = hidden
        keep[max(y1 // STRIDE - 1, 0) : y2 // STRIDE + 2, max(x1 // STRIDE - 1, 0) : x2 // STRIDE + 2] = 0
    return img, keep


def batch(sampler, n, nc=NC, negatives=0.0, consistency=0.0):
    """n crops and their targets, and (None without `consistency`) for that share of the
    crops the crop with regions hidden beside its persons (`beside`), its index in the batch
    and the cells to compare."""
    xs, hms, regs, masks, igns = [], [], [], [], []
    pair_x, pair_i, pair_keep = [], [], []
    for i in range(n):
        img, boxes, ignore, _ = sampler.crop()
        if negatives:
            boxes = drop_flat(img, boxes)
            if sampler.rng.random() < negatives:
                img, boxes, ignore = redacted(img, boxes, ignore, sampler.rng)
        if consistency and sampler.rng.random() < consistency:
            img2, keep = beside(img, boxes, sampler.rng)
            pair_x.append(img2.transpose(2, 0, 1)), pair_i.append(i), pair_keep.append(keep[None])
        hm, reg, mask, ign = targets(boxes, ignore, sampler.size, nc)
        xs.append(img.transpose(2, 0, 1))
        hms.append(hm), regs.append(reg), masks.append(mask), igns.append(ign)
    t = lambda a: torch.from_numpy(np.stack(a))
    main = (t(xs).float() / 255.0, t(hms), t(regs), t(masks), t(igns))
    pairs = (t(pair_x).float() / 255.0, torch.tensor(pair_i), t(pair_keep)) if pair_x else None
    return main, pairs


class Bank:
    """The crops cut ahead of time by `bank.py`, mirrored and turned here."""

    def __init__(self, path: Path, rng):
        meta = json.loads((path / "bank.json").read_text())
        self.size, self.rng = meta["size"], rng
        self.recs = [json.loads(l) for l in open(path / "boxes.jsonl")]
        self.x = np.memmap(path / "x.u8", np.uint8, "r", shape=(len(self.recs), self.size, self.size, 3))

    def crop(self):
        i = int(self.rng.integers(len(self.recs)))
        r = self.recs[i]
        boxes = np.array(r["boxes"], np.float32).reshape(-1, 5)
        ignore = np.array(r["ignore"], np.float32).reshape(-1, 4)
        return (*geometric(np.asarray(self.x[i]), boxes, ignore, r["nadir"], self.rng), r["nadir"])


class Mix:
    """Crops from a main bank, and a share of them from a second one (`--extra-bank`)."""

    def __init__(self, main, extra, share, rng):
        self.main, self.extra, self.share, self.rng = main, extra, share, rng
        self.size = main.size

    def crop(self):
        return (self.extra if self.rng.random() < self.share else self.main).crop()


def loss_fn(out, hm, reg, mask, ign):
    logit, pred = out
    p = torch.sigmoid(logit).clamp(1e-4, 1 - 1e-4)
    pos = (hm == 1).float()
    neg = (1 - pos) * ign
    n = pos.sum().clamp(min=1)
    lpos = -(torch.log(p) * (1 - p) ** 2 * pos).sum()
    lneg = -(torch.log(1 - p) * p**2 * (1 - hm) ** 4 * neg).sum()
    m = mask.unsqueeze(1)
    k = mask.sum().clamp(min=1)
    loff = (F.l1_loss(pred[:, :2], reg[:, :2], reduction="none") * m).sum() / k
    lsize = (F.l1_loss(pred[:, 2:], reg[:, 2:], reduction="none") * m).sum() / k
    total = (lpos + lneg) / n + loff + SIZE_WEIGHT * lsize
    return total, dict(heat=float((lpos + lneg).detach() / n), off=float(loff.detach()), size=float(lsize.detach()))


# ---------------------------------------------------------------- loop
WEIGHTS = {"human_rpi": 0.45, "hit_uav": 0.2, "kit_ais": 0.35}  # the shipped run; the third (not shipped) used 0.55, 0.15, 0.30
TASKS = {"aerial": NC, "plate": 1}  # number of classes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "runs/aerial")
    ap.add_argument("--minutes", type=float, default=100.0, help="wall-time budget of the whole run")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--bank", type=Path, help="crops cut ahead of time by bank.py (else made in-process)")
    ap.add_argument("--width", choices=sorted(WIDTHS), default="wide")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--synth", type=float, default=0.5, help="share of crops that get synthetic people")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--save-every", type=int, default=50)
    ap.add_argument("--negatives", type=float, default=0.0, help="share of crops in which persons and patches are hidden as pixla hides them, and no longer labelled; also drops persons labelled on flat patches (0: neither)")
    ap.add_argument("--consistency", type=float, default=0.0, help="share of crops also seen with regions hidden beside their persons, whose heat elsewhere must not change (see `beside`; 0: off)")
    ap.add_argument("--consistency-weight", type=float, default=1.0)
    ap.add_argument("--extra-bank", type=Path, help="a second bank (for example snow scenes, bank.py --snow 1), drawn from for --extra-share of the crops")
    ap.add_argument("--extra-share", type=float, default=0.15)
    ap.add_argument("--init", type=Path, help="start from the weights of this checkpoint (a new run: new schedule, new optimiser)")
    ap.add_argument("--task", choices=sorted(TASKS), default="aerial", help="aerial: persons and vehicles (pixla-aerial); plate: plates in vehicle crops (pixla-plate, bank from plate_bank.py)")
    a = ap.parse_args()
    nc = TASKS[a.task]
    if a.extra_bank and not a.bank:
        raise SystemExit("--extra-bank is mixed with a main --bank: give both")
    if a.task != "aerial" and not a.bank:
        raise SystemExit("--task plate trains from a bank cut by plate_bank.py: give --bank")
    torch.set_num_threads(a.threads)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    a.out.mkdir(parents=True, exist_ok=True)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(a).items() if k not in ("threads", "out", "save_every")}
    # the crops' source mix: the bank's own where the crops come from a bank
    settings["weights"] = json.loads((a.bank / "bank.json").read_text()).get("weights", WEIGHTS) if a.bank else WEIGHTS
    settings["size_weight"] = SIZE_WEIGHT
    if a.task == "aerial":
        del settings["task"]  # the shipped aerial run's settings had no task; it resumes as is
    if not a.negatives:
        del settings["negatives"]  # runs before hard negatives resume as they were
    if not a.consistency:  # runs before the consistency term resume as they were
        del settings["consistency"], settings["consistency_weight"]
    if a.extra_bank is None:  # runs before a second bank resume as they were
        del settings["extra_bank"], settings["extra_share"]
    else:
        settings["extra_bank_settings"] = json.loads((a.extra_bank / "bank.json").read_text())
    if a.init is None:
        del settings["init"]
    else:
        settings["init"] = str(a.init)
    ck = a.out / "last.pt"
    net = AerialNet(**WIDTHS[a.width], nc=nc).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-4)
    state = dict(step=0, seconds=0.0, rng=None)
    if a.init and not ck.exists():
        net.load_state_dict(torch.load(a.init, map_location=dev, weights_only=False)["model"])
        print(f"weights from {a.init}")
    if ck.exists():
        c = torch.load(ck, map_location=dev, weights_only=False)
        if c["settings"] != settings:
            raise SystemExit(f"{ck} was made with other settings: {c['settings']} (delete it or use another --out)")
        net.load_state_dict(c["model"]), opt.load_state_dict(c["opt"])
        state = c["state"]
        print(f"resumed at step {state['step']}, {state['seconds'] / 60:.1f} min trained")
    (a.out / "settings.json").write_text(json.dumps(dict(settings, device=dev, torch=torch.__version__), indent=1))
    rng = np.random.default_rng(a.seed)
    if state["rng"] is not None:
        rng.bit_generator.state = state["rng"]
    torch.manual_seed(a.seed + state["step"])
    if a.bank:
        sampler = Bank(a.bank, rng)
        if sampler.size != a.size:
            raise SystemExit(f"{a.bank} holds {sampler.size}-px crops, not {a.size}")
        print(f"{len(sampler.recs)} crops in the bank")
        if a.extra_bank:
            extra = Bank(a.extra_bank, rng)
            if extra.size != a.size:
                raise SystemExit(f"{a.extra_bank} holds {extra.size}-px crops, not {a.size}")
            sampler = Mix(sampler, extra, a.extra_share, rng)
            print(f"{len(extra.recs)} crops in {a.extra_bank}, drawn for {a.extra_share:.0%} of the crops")
    else:
        rows, imgs = load(a.data, "train")
        print(f"{len(rows)} training images loaded")
        sampler = Sampler(rows, imgs, a.size, rng, WEIGHTS, a.synth)
    budget = a.minutes * 60
    log = open(a.out / "log.jsonl", "a")
    t_start = time.time() - state["seconds"]
    net.train()
    while True:
        elapsed = time.time() - t_start
        if elapsed >= budget:
            break
        frac = elapsed / budget
        lr = a.lr * min(1.0, (state["step"] + 1) / 100) * (0.5 * (1 + math.cos(math.pi * frac)) * 0.98 + 0.02)
        for g in opt.param_groups:
            g["lr"] = lr
        main_batch, pairs = batch(sampler, a.batch, nc, a.negatives, a.consistency)
        x, hm, reg, mask, ign = (t.to(dev) for t in main_batch)
        n = x.shape[0]
        if pairs is not None:
            x2, idx, keep = (t.to(dev) for t in pairs)
            x = torch.cat([x, x2])
        x = x.contiguous(memory_format=torch.channels_last)
        logit, pred = net(x)
        loss, parts = loss_fn((logit[:n], pred[:n]), hm, reg, mask, ign)
        if pairs is not None:
            # the heat beside a hidden region should stay what it was without it
            before = torch.sigmoid(logit[:n][idx]).detach()
            lcons = ((torch.sigmoid(logit[n:]) - before).abs() * keep).sum() / len(idx)
            loss = loss + a.consistency_weight * lcons
            parts["cons"] = float(lcons.detach())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        state["step"] += 1
        if state["step"] % 10 == 0:
            rec = dict(step=state["step"], min=round(elapsed / 60, 2), lr=round(lr, 6), loss=round(float(loss), 4), **{k: round(v, 4) for k, v in parts.items()})
            log.write(json.dumps(rec) + "\n"), log.flush()
            print(rec, flush=True)
        if state["step"] % a.save_every == 0:
            save(ck, net, opt, state, rng, settings, t_start)
    save(ck, net, opt, state, rng, settings, t_start)
    print(f"done: {state['step']} steps in {state['seconds'] / 60:.1f} min on {dev}")


def save(ck, net, opt, state, rng, settings, t_start):
    state["seconds"] = time.time() - t_start
    state["rng"] = rng.bit_generator.state
    tmp = ck.with_suffix(".tmp")
    torch.save(dict(model=net.state_dict(), opt=opt.state_dict(), state=state, settings=settings), tmp)
    os.replace(tmp, ck)


if __name__ == "__main__":
    main()
