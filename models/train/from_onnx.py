"""Step 2b (optional): turn a shipped ONNX model back into a checkpoint to train on from.

    python from_onnx.py --onnx ../pixla-aerial.onnx --bank bank --out runs/init-aerial.pt
    python train.py --init runs/init-aerial.pt ...

Checkpoints are never committed, so continuing from the weights pixla ships needs them back
from the ONNX. The exporter folds each batch norm into the convolution before it; this script
puts the folded weights into `train.AerialNet` and unfolds the batch norms again so that the
network computes the same function both in evaluation mode and, on a calibration batch from
the bank, in training mode: for a batch norm whose input has mean m and variance v on that
batch, weight = sqrt(v + eps), bias = m + the folded bias, running mean = m, running
variance = v. The result is checked against onnxruntime. Written for pixla.
"""

import argparse
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

import train


def onnx_convs(path: Path):
    """(weight, bias) of every Conv node, in graph order (the traced call order)."""
    m = onnx.load(str(path))
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    out = []
    for n in m.graph.node:
        if n.op_type == "Conv":
            out.append((init[n.input[1]], init[n.input[2]] if len(n.input) > 2 else None))
    return out


def call_order(net, x):
    """The Conv2d modules in the order the forward pass calls them, each with the BatchNorm2d
    that follows it in its `cbr` block (None for the heads' plain convolutions)."""
    bn_of = {}
    for mod in net.modules():
        if isinstance(mod, nn.Sequential):
            kids = list(mod)
            for a, b in zip(kids, kids[1:]):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    bn_of[a] = b
    order = []
    hooks = [c.register_forward_hook(lambda m, i, o: order.append(m)) for c in net.modules() if isinstance(c, nn.Conv2d)]
    with torch.no_grad():
        net.eval()(x)
    for h in hooks:
        h.remove()
    return [(c, bn_of.get(c)) for c in order]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--bank", type=Path, required=True, help="crops for calibrating the batch norms")
    ap.add_argument("--width", choices=sorted(train.WIDTHS), default="wide")
    ap.add_argument("--task", choices=sorted(train.TASKS), default="aerial")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    torch.manual_seed(0)
    net = train.AerialNet(**train.WIDTHS[a.width], nc=train.TASKS[a.task])
    rng = np.random.default_rng(0)
    bank = train.Bank(a.bank, rng)
    x = torch.from_numpy(np.stack([bank.crop()[0].transpose(2, 0, 1) for _ in range(64)])).float() / 255.0

    convs = onnx_convs(a.onnx)
    order = call_order(net, x[:1])
    if len(convs) != len(order):
        raise SystemExit(f"{a.onnx} has {len(convs)} convolutions, the net {len(order)}: another width or task?")
    fold = {}
    with torch.no_grad():
        for (w, b), (conv, bn) in zip(convs, order):
            if tuple(w.shape) != tuple(conv.weight.shape):
                raise SystemExit(f"shape {w.shape} against {tuple(conv.weight.shape)}: another width or task?")
            conv.weight.copy_(torch.from_numpy(w.copy()))
            if bn is None:
                conv.bias.copy_(torch.from_numpy(b))
            else:
                fold[bn] = torch.from_numpy(b)

    def calibrate(bn, inp):
        y = inp[0]
        m = y.mean(dim=(0, 2, 3))
        v = y.var(dim=(0, 2, 3), unbiased=False)
        bn.running_mean.copy_(m)
        bn.running_var.copy_(v)
        bn.weight.data.copy_(torch.sqrt(v + bn.eps))
        bn.bias.data.copy_(m + fold[bn])

    hooks = []
    for bn in fold:
        bn.momentum = 0.0  # keep the running statistics set by the hook
        hooks.append(bn.register_forward_pre_hook(calibrate))
    with torch.no_grad():
        net.train()(x)
    for h in hooks:
        h.remove()

    exp = train.Export(net).eval()
    sess = ort.InferenceSession(str(a.onnx), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        want = sess.run(None, {sess.get_inputs()[0].name: x[:1].numpy()})[0]
        got = exp(x[:1]).numpy()
        ntr = net.train()(x)[0]
        net.eval()
        nev = net(x)[0]
    for bn in fold:
        bn.momentum = 0.1  # PyTorch's default, for training
    # the peak rule keeps a cell only where it equals its 3x3 maximum, so in flat, near-zero
    # regions a rounding difference can flip a tie: compare the peaks both keep, and require
    # the flipped ones to be negligible
    hw, hg = want[:, 4:], got[:, 4:]
    both = (hw > 0) & (hg > 0)
    err = float(np.abs(hw - hg)[both].max()) if both.any() else 0.0
    flipped = float(np.maximum(hw, hg)[(hw > 0) != (hg > 0)].max(initial=0.0))
    boxes = float(np.abs(want[:, :4] - got[:, :4]).max())
    drift = float((torch.sigmoid(ntr) - torch.sigmoid(nev)).abs().max())
    print(f"against onnxruntime: peaks {err:.1e}, boxes {boxes:.1e} px, largest flipped tie {flipped:.1e}; training mode against evaluation mode {drift:.1e}")
    if err > 1e-4 or boxes > 1e-2 or flipped > 0.05 or drift > 5e-3:
        raise SystemExit("the rebuilt network does not compute the shipped model")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(model=net.state_dict(), source=str(a.onnx)), a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
