"""Step 3: export a checkpoint of `train.py` to the ONNX model pixla ships.

    python export.py --checkpoint runs/aerial/last.pt --out ../pixla-aerial.onnx [--size 640]

The graph takes `[1, 3, SIZE, SIZE]` RGB in 0..1 (pixla's YOLO reader letterboxes a tile to
it, so a 640-px tile reaches the model at native resolution) and gives the YOLOv8 layout
`[1, 4+2, N]`: cx, cy, w, h in input pixels, then the person and vehicle scores, zero except at
heat-map peaks. The export is checked against PyTorch with onnxruntime before it is written,
and its sha256 is printed for the registry.
"""

import argparse
import hashlib
from pathlib import Path

import numpy as np
import torch

import train


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--size", type=int, default=640)
    a = ap.parse_args()
    c = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
    net = train.AerialNet()
    net.load_state_dict(c["model"])
    net.eval()
    m = train.Export(net).eval()
    x = torch.rand(1, 3, a.size, a.size)
    tmp = a.out.with_suffix(".tmp.onnx")
    torch.onnx.export(m, x, tmp, input_names=["images"], output_names=["output0"], opset_version=17, dynamo=False)
    import onnxruntime as ort

    want = m(x).detach().numpy()
    got = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(None, {"images": x.numpy()})[0]
    err = float(np.abs(want - got).max())
    assert want.shape == got.shape and err < 1e-3, (want.shape, got.shape, err)
    tmp.replace(a.out)
    sha = hashlib.sha256(a.out.read_bytes()).hexdigest()
    print(f"{a.out}: {a.out.stat().st_size} bytes, sha256 {sha}, output {list(got.shape)}, max |onnx - torch| {err:.2e}, step {c['state']['step']}")


if __name__ == "__main__":
    main()
