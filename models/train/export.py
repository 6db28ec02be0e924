"""Step 3: export a checkpoint of `train.py` to the ONNX model pixla ships.

    python export.py --checkpoint runs/aerial/last.pt --out ../pixla-aerial.onnx \
        [--golden ../../fixtures/pixla_aerial_golden.json]

The graph takes `[1, 3, H, W]` RGB in 0..1, H and W any multiple of 32 (pixla pads a tile to
one, never scales it, so people reach the model at native resolution) and gives the YOLOv8
layout `[1, 4+2, N]`: cx, cy, w, h in input pixels, then the person and vehicle scores, zero
except at heat-map peaks. The export is checked against PyTorch with onnxruntime at two
sizes before it is written, and its sha256 is printed for the registry.

`--golden` also writes the reference for `tests/aerial_golden.rs`: a fixed 640x640 crop of a
shared fixture, the input tensor's sum, and the strongest raw outputs, as onnxruntime gives them.
"""

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

import train


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--golden", type=Path, help="also write the golden reference for pixla's tests")
    a = ap.parse_args()
    c = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
    nc = train.TASKS[c["settings"].get("task", "aerial")]
    net = train.AerialNet(**train.WIDTHS[c["settings"].get("width", "base")], nc=nc)
    net.load_state_dict(c["model"])
    net.eval()
    m = train.Export(net).eval()
    tmp = a.out.with_suffix(".tmp.onnx")
    axes = {"images": {2: "height", 3: "width"}, "output0": {2: "cells"}}
    torch.onnx.export(m, torch.rand(1, 3, 640, 640), tmp, input_names=["images"], output_names=["output0"], dynamic_axes=axes, opset_version=17, dynamo=False)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    err = 0.0
    for h, w in [(640, 640), (224, 352)]:
        x = torch.rand(1, 3, h, w)
        want = m(x).detach().numpy()
        got = sess.run(None, {"images": x.numpy()})[0]
        assert want.shape == got.shape == (1, 4 + nc, h * w // train.STRIDE**2), (want.shape, got.shape)
        err = max(err, float(np.abs(want - got).max()))
    assert err < 1e-3, err
    tmp.replace(a.out)
    sha = hashlib.sha256(a.out.read_bytes()).hexdigest()
    print(f"{a.out}: {a.out.stat().st_size} bytes, sha256 {sha}, max |onnx - torch| {err:.2e}, step {c['state']['step']}")
    if a.golden:
        golden(sess, sha, a.golden, c["settings"].get("task", "aerial"))


CLEAR = 0.1  # the weakest peak a golden reference records

# under ../shared/fixtures: (image, crop x, y, w, h) per task
GOLDEN = {
    "aerial": ("aerial-nadir/lacmus_02.png", (100, 0, 640, 640)),  # three labelled people
    "plate": ("plates/nomeroff_example2.jpeg", (352, 256, 256, 224)),  # a plate 98 px wide
}


def golden(sess, sha, out: Path, task: str):
    from PIL import Image

    GOLDEN_IMAGE, GOLDEN_CROP = GOLDEN[task]

    root = Path(__file__).resolve().parents[2] / "../shared/fixtures"
    x0, y0, w, h = GOLDEN_CROP
    img = np.asarray(Image.open(root / GOLDEN_IMAGE).convert("RGB"))[y0 : y0 + h, x0 : x0 + w]
    t = (img.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    y = sess.run(None, {"images": t})[0][0]  # (4 + classes, N)
    score = y[4:].max(axis=0)
    # the clear peaks only (at most 20): in flat, near-zero regions the graph's peak rule (a
    # cell is kept where it equals its 3x3 maximum) can flip a tie over the last digits, so a
    # weak cell is no reference for another runtime's build
    top = [i for i in np.argsort(-score, kind="stable")[:20] if score[i] >= CLEAR]
    if len(top) < 2:
        raise SystemExit(f"fewer than two clear peaks (>= {CLEAR}) on the golden crop: {sorted(score)[-3:]}")
    rec = dict(
        model_sha256=sha,
        image=GOLDEN_IMAGE,
        crop=list(GOLDEN_CROP),
        input_sum=float(t.astype(np.float64).sum()),
        output_shape=list(y.shape),
        top=[dict(cell=int(i), values=[float(v) for v in y[:, i]]) for i in top],
    )
    out.write_text(json.dumps(rec, indent=1) + "\n")
    print(f"golden reference: {out}")


if __name__ == "__main__":
    main()
