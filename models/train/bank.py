"""Step 1b: cut the training crops once, ahead of time (`bank/`).

    python bank.py --data data --out bank --crops 24000 [--size 256] [--workers 2]

Decoding, rescaling, pasting synthetic people and the photometric augmentations cost about as
much CPU per crop as a training step, so they are done here, once, by `--workers` processes,
and `train.py --bank bank` only mirrors and turns the stored crops. Each crop is made by
`train.Sampler` exactly as in-process training would make it. Output: `x.u8` (crops as raw
uint8 N x S x S x 3), `boxes.jsonl` (per crop: boxes [class, x, y, w, h], ignore regions
[x, y, w, h], whether the view is from above), `bank.json` (the settings). Seeded per worker,
so the same command makes the same bank.
"""

import argparse
import json
import multiprocessing as mp
import os
from pathlib import Path

import numpy as np

import train


def work(args):
    data, out, size, synth_p, snow_p, seed, lo, hi = args
    rows, imgs = train.load(Path(data), "train")
    rng = np.random.default_rng([seed, lo])
    sampler = train.Sampler(rows, imgs, size, rng, train.WEIGHTS, synth_p, snow_p)
    x = np.memmap(Path(out) / "x.u8", np.uint8, "r+", shape=(hi, size, size, 3))
    recs = []
    for i in range(lo, hi):
        img, boxes, ignore, nadir = sampler.crop(turn=False)
        x[i] = img
        recs.append(json.dumps(dict(boxes=np.round(boxes, 2).tolist(), ignore=np.round(ignore, 2).tolist(), nadir=bool(nadir))))
        if (i - lo) % 1000 == 0:
            print(f"worker {lo}: {i - lo}/{hi - lo}", flush=True)
    x.flush()
    return lo, recs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "bank")
    ap.add_argument("--crops", type=int, default=24000)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--synth", type=float, default=0.5, help="share of crops that get synthetic people")
    ap.add_argument("--snow", type=float, default=0.0, help="share of crops turned into snow with people in winter clothing (synth.snow)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    np.memmap(a.out / "x.u8", np.uint8, "w+", shape=(a.crops, a.size, a.size, 3)).flush()
    cuts = np.linspace(0, a.crops, a.workers + 1).astype(int)
    jobs = [(str(a.data), str(a.out), a.size, a.synth, a.snow, a.seed, int(lo), int(hi)) for lo, hi in zip(cuts[:-1], cuts[1:])]
    with mp.Pool(a.workers) as pool:
        parts = dict(pool.map(work, jobs))
    with open(a.out / "boxes.jsonl", "w") as f:
        for lo in sorted(parts):
            f.write("\n".join(parts[lo]) + "\n")
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(a).items() if k != "workers"}
    (a.out / "bank.json").write_text(json.dumps(dict(settings, weights=train.WEIGHTS), indent=1))
    print(f"{a.crops} crops of {a.size} px in {a.out}")


if __name__ == "__main__":
    main()
