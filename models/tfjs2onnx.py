#!/usr/bin/env python3
"""Light TensorFlow.js graph-model -> ONNX converter for pixla (NanoDet-m).

# requires: onnx==1.23.2 numpy==2.4.6

Usage:
    python tfjs2onnx.py MODEL.json WEIGHTS_DIR_OR_BIN OUT.onnx

Reads modelTopology.node and weightsManifest from a TF.js "graph-model"
JSON, loads and dequantises the weights (float16, uint8/uint16 affine), maps
each TensorFlow op to ONNX (opset 13) and writes a model that has:

  * one input  `input`  float32 [1,3,H,W] (NCHW, as declared by the Placeholder)
  * six outputs cls_8, box_8, cls_16, box_16, cls_32, box_32
    (cls_* = per-class scores after sigmoid [1,g*g,C];
     box_* = raw box distributions [1,g*g,4*(reg_max+1)])

Design notes
  * Everything that only depends on constants (SparseToDense, shape maths for
    Reshape, Transpose of constants, ...) is folded with numpy.
  * Layout: TF ops are NHWC (per data_format); ONNX Conv/MaxPool/Resize are
    NCHW. Every dynamic tensor is tracked as (physical ONNX tensor, perm) with
    logical = transpose(physical, perm), so TF Transpose nodes cost nothing and
    a real ONNX Transpose is only emitted where a layout has to change.
  * Zero-constant Pad feeding a VALID Conv2D and -inf PadV2 feeding MaxPool are
    folded into the Conv/MaxPool `pads` attribute; a Conv2D followed by an Add
    of a per-channel constant becomes the Conv bias.
  * Unknown TF ops (anywhere in the graph) abort the conversion with exit 2.
  * Output is byte-reproducible: no timestamps or paths, deterministic names,
    deterministic protobuf serialisation, fixed producer name/version.
"""

import base64
import hashlib
import heapq
import json
import math
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PRODUCER_NAME = "pixla-tfjs2onnx"
PRODUCER_VERSION = "1.0.0"
OPSET = 13
IR_VERSION = 7  # the IR version that goes with opset 13; widest runtime support

SUPPORTED_OPS = (
    "Const", "Placeholder", "Identity", "Conv2D", "Pad", "PadV2", "Transpose",
    "Add", "AddV2", "LeakyRelu", "MaxPool", "ConcatV2", "ResizeBilinear",
    "SplitV", "Sigmoid", "Reshape", "SparseToDense",
)

TF_DTYPES = {
    "DT_FLOAT": np.float32, "DT_INT32": np.int32, "DT_INT64": np.int64,
    "DT_BOOL": np.bool_, "DT_HALF": np.float16, "DT_UINT8": np.uint8,
    "DT_INT8": np.int8, "DT_INT16": np.int16, "DT_UINT16": np.uint16,
}


class ConvertError(Exception):
    pass


# --------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------

def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _dequantise(raw, spec):
    """Decode one weight entry per the TF.js weights-manifest rules."""
    shape = [int(d) for d in spec["shape"]]
    n = int(np.prod(shape)) if shape else 1
    dtype = spec["dtype"]
    q = spec.get("quantization")
    if q:
        qd = q["dtype"]
        if qd == "float16":
            if dtype != "float32":
                raise ConvertError(f"weight {spec['name']}: float16 quantisation of {dtype}")
            vals = np.frombuffer(raw, "<f2", n).astype(np.float32)
        elif qd in ("uint8", "uint16"):
            if "scale" not in q or "min" not in q:
                raise ConvertError(f"weight {spec['name']}: affine quantisation without scale/min")
            qv = np.frombuffer(raw, "<u1" if qd == "uint8" else "<u2", n).astype(np.float64)
            real = qv * float(q["scale"]) + float(q["min"])  # tfjs computes in double
            if dtype == "float32":
                vals = real.astype(np.float32)
            elif dtype == "int32":
                vals = np.floor(real + 0.5).astype(np.int32)  # JS Math.round
            else:
                raise ConvertError(f"weight {spec['name']}: cannot dequantise to {dtype}")
        else:
            raise ConvertError(f"weight {spec['name']}: unknown quantisation dtype {qd}")
    else:
        np_dt = {"float32": "<f4", "int32": "<i4", "bool": "u1"}.get(dtype)
        if np_dt is None:
            raise ConvertError(f"weight {spec['name']}: unsupported weight dtype {dtype}")
        vals = np.frombuffer(raw, np_dt, n)
        if dtype == "bool":
            vals = vals.astype(np.bool_)
    return vals.reshape(shape)


def _stored_nbytes(spec):
    shape = [int(d) for d in spec["shape"]]
    n = int(np.prod(shape)) if shape else 1
    q = spec.get("quantization")
    if q:
        per = {"uint8": 1, "uint16": 2, "float16": 2}.get(q["dtype"])
    else:
        per = {"float32": 4, "int32": 4, "bool": 1}.get(spec["dtype"])
    if per is None:
        raise ConvertError(f"weight {spec['name']}: unsupported dtype/quantisation")
    return n * per


def load_weights(manifest, weights_arg):
    groups_paths = [list(g["paths"]) for g in manifest]
    n_shards = sum(len(p) for p in groups_paths)
    if os.path.isdir(weights_arg):
        wdir, single = weights_arg, None
    elif os.path.isfile(weights_arg):
        if n_shards == 1:
            wdir, single = None, weights_arg
        else:
            wdir, single = os.path.dirname(os.path.abspath(weights_arg)), None
    else:
        raise ConvertError(f"weights path not found: {weights_arg}")
    weights = {}
    for group, paths in zip(manifest, groups_paths):
        buf = b""
        for p in paths:
            fp = single if single is not None else os.path.join(wdir, p)
            with open(fp, "rb") as f:
                buf += f.read()
        off = 0
        for spec in group["weights"]:
            nb = _stored_nbytes(spec)
            if off + nb > len(buf):
                raise ConvertError(f"weights file too short for {spec['name']}")
            weights[spec["name"]] = _dequantise(buf[off:off + nb], spec)
            off += nb
        if off != len(buf):
            raise ConvertError(f"weight group {paths}: {len(buf) - off} unexpected trailing bytes")
    return weights


# --------------------------------------------------------------------------
# attribute helpers
# --------------------------------------------------------------------------

def _attr(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "b" in a:
        return bool(a["b"])
    if "f" in a:
        return float(a["f"])
    if "i" in a:
        return int(a["i"])
    if "type" in a:
        return a["type"]
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(x) for x in lst["i"]]
        if "f" in lst:
            return [float(x) for x in lst["f"]]
        if "s" in lst:
            return [base64.b64decode(x).decode() for x in lst["s"]]
        return []
    if "tensor" in a or "shape" in a:
        return a
    return default


def _parse_input(ref):
    """'node:1' -> ('node', 1); control inputs ('^x') return None."""
    if ref.startswith("^"):
        return None
    if ":" in ref:
        base, idx = ref.rsplit(":", 1)
        if idx.isdigit():
            return base, int(idx)
    return ref, 0


def _inv(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


def _ident(rank):
    return tuple(range(rank))


# --------------------------------------------------------------------------
# value kinds
# --------------------------------------------------------------------------

class Const:
    __slots__ = ("value", "name")

    def __init__(self, value, name):
        self.value = np.asarray(value)
        self.name = name


class Dyn:
    """A runtime tensor: logical = pad(transpose(physical, perm), pads, pad_value)."""
    __slots__ = ("name", "perm", "shape", "pads", "pad_value", "conv", "conv_key")

    def __init__(self, name, perm, shape, pads=None, pad_value=0.0, conv=None, conv_key=None):
        self.name = name
        self.perm = tuple(perm)
        self.shape = tuple(int(s) for s in shape)
        self.pads = pads          # None or tuple of (begin, end) per logical axis
        self.pad_value = pad_value
        self.conv = conv          # the ONNX Conv node that produced `name` (bias fusion)
        self.conv_key = conv_key  # (tfname, idx) of that Conv2D output


# --------------------------------------------------------------------------
# converter
# --------------------------------------------------------------------------

class Converter:
    def __init__(self, topo_nodes, weights):
        self.tf_nodes = topo_nodes
        self.by_name = {}
        for n in topo_nodes:
            if n["name"] in self.by_name:
                raise ConvertError(f"duplicate node name {n['name']}")
            self.by_name[n["name"]] = n
        self.weights = weights
        self.values = {}          # (tfname, idx) -> Const | Dyn
        self.nodes = []           # emitted onnx NodeProto
        self.inits = []           # emitted TensorProto
        self.init_names = {}      # name -> TensorProto
        self.used_names = set()
        self.used_node_names = set()
        self.mat_cache = {}
        self.graph_input = None
        self.consumers = {}

    # ---- naming --------------------------------------------------------
    def uniq(self, base):
        name, i = base, 1
        while name in self.used_names:
            name = f"{base}_{i}"
            i += 1
        self.used_names.add(name)
        return name

    def init(self, base, arr):
        """Add an initializer; identical (name, bytes) requests are shared."""
        arr = np.ascontiguousarray(arr)
        if base in self.init_names:
            old = self.init_names[base]
            if numpy_helper.to_array(old).tobytes() == arr.tobytes() and \
                    tuple(old.dims) == arr.shape:
                return base
        name = self.uniq(base)
        t = numpy_helper.from_array(arr, name)
        self.inits.append(t)
        self.init_names[name] = t
        return name

    def emit(self, op, inputs, outputs, name, **attrs):
        # node names live in their own namespace (ONNX keeps them apart from tensors)
        base, i = name, 1
        while name in self.used_node_names:
            name = f"{base}_{i}"
            i += 1
        self.used_node_names.add(name)
        node = helper.make_node(op, inputs, outputs, name=name, **attrs)
        self.nodes.append(node)
        return node

    # ---- layout / padding ---------------------------------------------
    def materialize(self, v, perm=None, apply_pads=True):
        """ONNX tensor name holding v with logical = transpose(result, perm)."""
        rank = len(v.shape)
        perm = _ident(rank) if perm is None else tuple(perm)
        name, cur = v.name, v.perm
        if apply_pads and v.pads is not None and any(b or e for b, e in v.pads):
            key = ("pad", name, cur, v.pads, v.pad_value)
            if key not in self.mat_cache:
                phys = [(0, 0)] * rank
                for a in range(rank):
                    phys[cur[a]] = v.pads[a]
                pads = np.array([p[0] for p in phys] + [p[1] for p in phys], np.int64)
                out = self.uniq(f"{name}__pad")
                self.emit("Pad", [name, self.init(f"{out}/pads", pads),
                                  self.init(f"{out}/value", np.array(v.pad_value, np.float32))],
                          [out], out, mode="constant")
                self.mat_cache[key] = out
            name = self.mat_cache[key]
        if cur == perm:
            return name
        c = tuple(cur[i] for i in _inv(perm))
        if c == _ident(rank):
            return name
        key = ("tr", name, c)
        if key not in self.mat_cache:
            out = self.uniq(f"{name}__perm{''.join(map(str, c))}")
            self.emit("Transpose", [name], [out], out, perm=list(c))
            self.mat_cache[key] = out
        return self.mat_cache[key]

    def const_in_layout(self, c, perm, rank, tag):
        """Constant operand of an elementwise op, moved into physical layout `perm`."""
        arr = c.value.astype(np.float32)
        arr = arr.reshape((1,) * (rank - arr.ndim) + arr.shape)
        arr = np.transpose(arr, _inv(perm))
        suffix = "" if perm == _ident(rank) else "__perm" + "".join(map(str, _inv(perm)))
        return self.init(f"{c.name}{suffix}" if tag is None else tag, arr)

    # ---- driver --------------------------------------------------------
    def get(self, ref):
        key = _parse_input(ref)
        if key not in self.values:
            raise ConvertError(f"input {ref} not produced (graph out of order?)")
        return self.values[key]

    def run(self, output_refs):
        for n in self.tf_nodes:
            for ref in n.get("input", []):
                k = _parse_input(ref)
                if k is not None:
                    self.consumers[k] = self.consumers.get(k, 0) + 1
        for ref in output_refs:
            k = _parse_input(ref)
            self.consumers[k] = self.consumers.get(k, 0) + 1
        for n in self.tf_nodes:
            getattr(self, "op_" + n["op"])(n)

    def ins(self, n):
        return [self.get(r) for r in n.get("input", []) if not r.startswith("^")]

    def set(self, n, value, idx=0):
        self.values[(n["name"], idx)] = value

    # ---- ops -----------------------------------------------------------
    def op_Const(self, n):
        if n["name"] not in self.weights:
            raise ConvertError(f"Const {n['name']} has no entry in weightsManifest")
        val = self.weights[n["name"]]
        dt = TF_DTYPES.get(_attr(n, "dtype"))
        if dt is not None and val.dtype != dt:
            val = val.astype(dt)
        self.set(n, Const(val, n["name"]))

    def op_Placeholder(self, n):
        if self.graph_input is not None:
            raise ConvertError("more than one Placeholder: only single-input models are supported")
        if _attr(n, "dtype") != "DT_FLOAT":
            raise ConvertError(f"Placeholder {n['name']} is {_attr(n, 'dtype')}, expected DT_FLOAT")
        dims = n["attr"]["shape"]["shape"].get("dim", [])
        shape = [int(d.get("size", -1)) for d in dims]
        if any(s <= 0 for s in shape):
            raise ConvertError(f"Placeholder {n['name']} needs a fully static shape, got {shape}")
        self.graph_input = ("input", shape)
        self.used_names.add("input")
        self.set(n, Dyn("input", _ident(len(shape)), shape))

    def op_Identity(self, n):
        self.set(n, self.ins(n)[0])

    def op_Transpose(self, n):
        x, p = self.ins(n)
        if not isinstance(p, Const):
            raise ConvertError(f"{n['name']}: Transpose perm must be constant")
        q = [int(i) for i in p.value.reshape(-1)]
        if isinstance(x, Const):
            self.set(n, Const(np.transpose(x.value, q), n["name"]))
            return
        if sorted(q) != list(range(len(x.shape))):
            raise ConvertError(f"{n['name']}: bad perm {q}")
        pads = None if x.pads is None else tuple(x.pads[i] for i in q)
        self.set(n, Dyn(x.name, [x.perm[i] for i in q], [x.shape[i] for i in q],
                        pads, x.pad_value))

    def op_Reshape(self, n):
        x, s = self.ins(n)
        if not isinstance(s, Const):
            raise ConvertError(f"{n['name']}: Reshape with a non-constant shape is not supported")
        shape = [int(d) for d in s.value.reshape(-1)]
        total = int(np.prod(x.value.shape if isinstance(x, Const) else x.shape))
        if shape.count(-1) > 1:
            raise ConvertError(f"{n['name']}: more than one -1 in Reshape shape")
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1]))
            if known == 0 or total % known:
                raise ConvertError(f"{n['name']}: cannot reshape {total} elements to {shape}")
            shape[shape.index(-1)] = total // known
        if int(np.prod(shape)) != total:
            raise ConvertError(f"{n['name']}: cannot reshape {total} elements to {shape}")
        if isinstance(x, Const):
            self.set(n, Const(x.value.reshape(shape), n["name"]))
            return
        src = self.materialize(x)
        out = self.uniq(n["name"])
        # concrete, fully resolved target shape: no -1 and no ONNX "0 = copy" pitfall
        self.emit("Reshape", [src, self.init(f"{out}/shape", np.array(shape, np.int64))],
                  [out], out)
        self.set(n, Dyn(out, _ident(len(shape)), shape))

    def op_SparseToDense(self, n):
        idx, oshape, vals, default = self.ins(n)
        if not all(isinstance(v, Const) for v in (idx, oshape, vals, default)):
            raise ConvertError(f"{n['name']}: SparseToDense is only supported on constants")
        shape = [int(d) for d in oshape.value.reshape(-1)]
        dense = np.full(shape, default.value, dtype=vals.value.dtype)
        ind = idx.value.astype(np.int64)
        if ind.ndim < 2:
            ind = ind.reshape(-1, 1) if len(shape) == 1 else ind.reshape(1, -1)
        if ind.shape[0]:
            if ind.shape[1] != len(shape) or (ind < 0).any() or \
                    (ind >= np.array(shape)).any():
                raise ConvertError(f"{n['name']}: SparseToDense indices out of range")
            dense[tuple(ind.T)] = vals.value
        self.set(n, Const(dense, n["name"]))

    def _binary(self, n, np_fn, onnx_op):
        a, b = self.ins(n)
        if isinstance(a, Const) and isinstance(b, Const):
            r = np_fn(a.value, b.value).astype(a.value.dtype)
            self.set(n, Const(r, n["name"]))
            return
        if isinstance(a, Const):   # commutative ops only (Add)
            a, b = b, a
        if isinstance(b, Const):
            out_shape = tuple(np.broadcast_shapes(a.shape, b.value.shape))
            rank = len(a.shape)
            # Conv2D + per-channel constant -> Conv bias
            if onnx_op == "Add" and a.conv is not None and len(a.conv.input) == 2 \
                    and a.pads is None and out_shape == a.shape and b.value.ndim >= 1:
                ch_axis = a.perm.index(1)
                full = b.value.reshape((1,) * (rank - b.value.ndim) + b.value.shape)
                if self.consumers.get(a.conv_key, 0) == 1 and all(
                        d == 1 for i, d in enumerate(full.shape) if i != ch_axis) \
                        and full.shape[ch_axis] == a.shape[ch_axis]:
                    bias = full.reshape(-1).astype(np.float32)
                    a.conv.input.append(self.init(b.name, bias))
                    self.set(n, Dyn(a.name, a.perm, a.shape))
                    return
            if out_shape != a.shape:
                src = self.materialize(a)
                cst = self.const_in_layout(b, _ident(len(out_shape)), len(out_shape), None)
                out = self.uniq(n["name"])
                self.emit(onnx_op, [src, cst], [out], out)
                self.set(n, Dyn(out, _ident(len(out_shape)), out_shape))
                return
            src = self.materialize(a, a.perm)
            cst = self.const_in_layout(b, a.perm, rank, None)
            out = self.uniq(n["name"])
            self.emit(onnx_op, [src, cst], [out], out)
            self.set(n, Dyn(out, a.perm, a.shape))
            return
        out_shape = tuple(np.broadcast_shapes(a.shape, b.shape))
        if len(a.shape) == len(b.shape) == len(out_shape):
            perm = a.perm
        else:
            perm = _ident(len(out_shape))
        sa = self.materialize(a, perm if len(a.shape) == len(out_shape) else None)
        sb = self.materialize(b, perm if len(b.shape) == len(out_shape) else None)
        out = self.uniq(n["name"])
        self.emit(onnx_op, [sa, sb], [out], out)
        self.set(n, Dyn(out, perm, out_shape))

    def op_Add(self, n):
        self._binary(n, np.add, "Add")

    op_AddV2 = op_Add

    def _unary(self, n, np_fn, onnx_op, **attrs):
        (x,) = self.ins(n)
        if isinstance(x, Const):
            self.set(n, Const(np_fn(x.value).astype(x.value.dtype), n["name"]))
            return
        src = self.materialize(x, x.perm)
        out = self.uniq(n["name"])
        self.emit(onnx_op, [src], [out], out, **attrs)
        self.set(n, Dyn(out, x.perm, x.shape))

    def op_LeakyRelu(self, n):
        alpha = _attr(n, "alpha", 0.2)  # TF default
        self._unary(n, lambda v: np.where(v > 0, v, v * np.float32(alpha)),
                    "LeakyRelu", alpha=float(alpha))

    def op_Sigmoid(self, n):
        self._unary(n, lambda v: 1.0 / (1.0 + np.exp(-v)), "Sigmoid")

    def _pad(self, n, x, p, value):
        if not isinstance(p, Const):
            raise ConvertError(f"{n['name']}: paddings must be constant")
        pads = [tuple(int(v) for v in row) for row in p.value.reshape(-1, 2)]
        if isinstance(x, Const):
            self.set(n, Const(np.pad(x.value, pads, constant_values=value), n["name"]))
            return
        if len(pads) != len(x.shape) or any(b < 0 or e < 0 for b, e in pads):
            raise ConvertError(f"{n['name']}: bad paddings {pads}")
        if x.pads is not None:  # stack: realise the earlier pad first
            x = Dyn(self.materialize(x, x.perm), x.perm, x.shape)
        shape = [s + b + e for s, (b, e) in zip(x.shape, pads)]
        self.set(n, Dyn(x.name, x.perm, shape, tuple(pads), float(value)))

    def op_Pad(self, n):
        x, p = self.ins(n)
        if _attr(n, "mode", "CONSTANT").upper() != "CONSTANT":
            raise ConvertError(f"{n['name']}: only constant Pad is supported")
        self._pad(n, x, p, 0.0)

    def op_PadV2(self, n):
        x, p, v = self.ins(n)
        if not isinstance(v, Const) or v.value.size != 1:
            raise ConvertError(f"{n['name']}: PadV2 constant_values must be a constant scalar")
        self._pad(n, x, p, float(v.value.reshape(-1)[0]))

    @staticmethod
    def _layout(n):
        fmt = _attr(n, "data_format", "NHWC")
        if fmt == "NHWC":
            return fmt, (0, 2, 3, 1), 1, 2, 3   # req perm, H, W, C logical axes
        if fmt == "NCHW":
            return fmt, (0, 1, 2, 3), 2, 3, 1
        raise ConvertError(f"{n['name']}: unsupported data_format {fmt}")

    def _spatial_pads(self, n, x, hx, wx, k, s, d, absorb_value):
        """Pads (top, left, bottom, right) and whether x.pads was absorbed."""
        fmt, _, _, _, _ = self._layout(n)
        absorbed = (0, 0, 0, 0)
        use_pending = False
        if x.pads is not None:
            non_spatial = [a for a in range(4) if a not in (hx, wx)]
            if x.pad_value == absorb_value and all(x.pads[a] == (0, 0) for a in non_spatial):
                absorbed = (x.pads[hx][0], x.pads[wx][0], x.pads[hx][1], x.pads[wx][1])
                use_pending = True
        padding = _attr(n, "padding", "VALID")
        if padding == "VALID":
            extra = (0, 0, 0, 0)
        elif padding == "SAME":
            tb = []
            for size, kk, ss, dd in ((x.shape[hx], k[0], s[0], d[0]),
                                     (x.shape[wx], k[1], s[1], d[1])):
                out = -(-size // ss)
                total = max((out - 1) * ss + (kk - 1) * dd + 1 - size, 0)
                tb.append((total // 2, total - total // 2))
            extra = (tb[0][0], tb[1][0], tb[0][1], tb[1][1])
        elif padding == "EXPLICIT":
            ep = _attr(n, "explicit_paddings", [])
            if len(ep) != 8:
                raise ConvertError(f"{n['name']}: explicit_paddings must have 8 values")
            pr = [(ep[2 * i], ep[2 * i + 1]) for i in range(4)]
            non_spatial = [a for a in range(4) if a not in (hx, wx)]
            if any(pr[a] != (0, 0) for a in non_spatial):
                raise ConvertError(f"{n['name']}: explicit padding on batch/channel axis")
            extra = (pr[hx][0], pr[wx][0], pr[hx][1], pr[wx][1])
        else:
            raise ConvertError(f"{n['name']}: unsupported padding {padding}")
        return tuple(a + b for a, b in zip(absorbed, extra)), use_pending

    @staticmethod
    def _hw(vals, hx, wx, what, n):
        if vals is None or len(vals) != 4:
            raise ConvertError(f"{n['name']}: {what} must have 4 entries, got {vals}")
        others = [vals[a] for a in range(4) if a not in (hx, wx)]
        if any(v != 1 for v in others):
            raise ConvertError(f"{n['name']}: {what} on batch/channel axis not supported")
        return vals[hx], vals[wx]

    def op_Conv2D(self, n):
        x, f = self.ins(n)
        if isinstance(x, Const) or not isinstance(f, Const):
            raise ConvertError(f"{n['name']}: Conv2D needs dynamic input and constant filter")
        fmt, req, hx, wx, cx = self._layout(n)
        kh, kw, cin_g, cout = f.value.shape
        s = self._hw(_attr(n, "strides", [1, 1, 1, 1]), hx, wx, "strides", n)
        d = self._hw(_attr(n, "dilations", [1, 1, 1, 1]), hx, wx, "dilations", n)
        (pt, pl, pb, pr), use_pending = self._spatial_pads(n, x, hx, wx, (kh, kw), s, d, 0.0)
        cin = x.shape[cx]
        if cin % cin_g:
            raise ConvertError(f"{n['name']}: input channels {cin} vs filter {cin_g}")
        group = cin // cin_g
        if cout % group:
            raise ConvertError(f"{n['name']}: output channels {cout} not divisible by group {group}")
        src = self.materialize(x, req, apply_pads=not use_pending)
        hin = x.shape[hx] - (sum(x.pads[hx]) if use_pending else 0)
        win = x.shape[wx] - (sum(x.pads[wx]) if use_pending else 0)
        ho = (hin + pt + pb - ((kh - 1) * d[0] + 1)) // s[0] + 1
        wo = (win + pl + pr - ((kw - 1) * d[1] + 1)) // s[1] + 1
        if ho <= 0 or wo <= 0:
            raise ConvertError(f"{n['name']}: empty output")
        w = self.init(f"{f.name}__oihw", np.transpose(f.value.astype(np.float32), (3, 2, 0, 1)))
        out = self.uniq(n["name"])
        attrs = dict(kernel_shape=[kh, kw], strides=list(s), dilations=list(d),
                     pads=[pt, pl, pb, pr])
        if group != 1:
            attrs["group"] = group
        node = self.emit("Conv", [src, w], [out], out, **attrs)
        shape = [0] * 4
        shape[0], shape[hx], shape[wx], shape[cx] = x.shape[0], ho, wo, cout
        self.set(n, Dyn(out, req, shape, conv=node, conv_key=(n["name"], 0)))

    def op_MaxPool(self, n):
        (x,) = self.ins(n)
        if isinstance(x, Const):
            raise ConvertError(f"{n['name']}: MaxPool on a constant")
        fmt, req, hx, wx, cx = self._layout(n)
        k = self._hw(_attr(n, "ksize"), hx, wx, "ksize", n)
        s = self._hw(_attr(n, "strides"), hx, wx, "strides", n)
        # ONNX MaxPool ignores padded cells, i.e. behaves like a -inf pad
        (pt, pl, pb, pr), use_pending = self._spatial_pads(n, x, hx, wx, k, s, (1, 1),
                                                           float("-inf"))
        src = self.materialize(x, req, apply_pads=not use_pending)
        hin = x.shape[hx] - (sum(x.pads[hx]) if use_pending else 0)
        win = x.shape[wx] - (sum(x.pads[wx]) if use_pending else 0)
        ho = (hin + pt + pb - k[0]) // s[0] + 1
        wo = (win + pl + pr - k[1]) // s[1] + 1
        out = self.uniq(n["name"])
        self.emit("MaxPool", [src], [out], out, kernel_shape=list(k), strides=list(s),
                  pads=[pt, pl, pb, pr])
        shape = [0] * 4
        shape[0], shape[hx], shape[wx], shape[cx] = x.shape[0], ho, wo, x.shape[cx]
        self.set(n, Dyn(out, req, shape))

    def op_ConcatV2(self, n):
        vals = self.ins(n)
        xs, ax = vals[:-1], vals[-1]
        if not isinstance(ax, Const):
            raise ConvertError(f"{n['name']}: ConcatV2 axis must be constant")
        if _attr(n, "N") not in (None, len(xs)):
            raise ConvertError(f"{n['name']}: N={_attr(n, 'N')} but {len(xs)} inputs")
        axis = int(ax.value.reshape(-1)[0])
        if all(isinstance(v, Const) for v in xs):
            self.set(n, Const(np.concatenate([v.value for v in xs], axis=axis), n["name"]))
            return
        rank = len(next(v for v in xs if isinstance(v, Dyn)).shape)
        axis = axis + rank if axis < 0 else axis
        perm = next(v for v in xs if isinstance(v, Dyn)).perm
        srcs, shape = [], None
        for v in xs:
            if isinstance(v, Const):
                srcs.append(self.const_in_layout(v, perm, rank, None))
                vs = v.value.shape
            else:
                srcs.append(self.materialize(v, perm))
                vs = v.shape
            if shape is None:
                shape = list(vs)
            else:
                if len(vs) != rank or any(vs[i] != shape[i] for i in range(rank) if i != axis):
                    raise ConvertError(f"{n['name']}: incompatible concat shapes")
                shape[axis] += vs[axis]
        out = self.uniq(n["name"])
        self.emit("Concat", srcs, [out], out, axis=perm[axis])
        self.set(n, Dyn(out, perm, shape))

    def op_ResizeBilinear(self, n):
        x, size = self.ins(n)
        if isinstance(x, Const) or not isinstance(size, Const):
            raise ConvertError(f"{n['name']}: ResizeBilinear needs dynamic images and constant size")
        ac = _attr(n, "align_corners", False)
        hp = _attr(n, "half_pixel_centers", False)
        if ac and hp:
            raise ConvertError(f"{n['name']}: align_corners and half_pixel_centers both set")
        mode = "align_corners" if ac else ("half_pixel" if hp else "asymmetric")
        h, w = [int(v) for v in size.value.reshape(-1)]
        req = (0, 2, 3, 1)  # TF images are NHWC; ONNX Resize runs on physical NCHW
        src = self.materialize(x, req)
        nb, _, _, c = x.shape
        out = self.uniq(n["name"])
        self.emit("Resize", [src, "", "", self.init(f"{out}/sizes", np.array([nb, c, h, w], np.int64))],
                  [out], out, mode="linear", coordinate_transformation_mode=mode)
        self.set(n, Dyn(out, req, [nb, h, w, c]))

    def op_SplitV(self, n):
        x, sizes, ax = self.ins(n)
        if not isinstance(sizes, Const) or not isinstance(ax, Const):
            raise ConvertError(f"{n['name']}: SplitV size_splits/axis must be constant")
        shape = x.value.shape if isinstance(x, Const) else x.shape
        rank = len(shape)
        axis = int(ax.value.reshape(-1)[0])
        axis = axis + rank if axis < 0 else axis
        sz = [int(v) for v in sizes.value.reshape(-1)]
        if sz.count(-1) > 1:
            raise ConvertError(f"{n['name']}: more than one -1 in size_splits")
        if -1 in sz:
            sz[sz.index(-1)] = shape[axis] - sum(v for v in sz if v != -1)
        if sum(sz) != shape[axis] or any(v < 0 for v in sz):
            raise ConvertError(f"{n['name']}: size_splits {sz} do not add up to {shape[axis]}")
        if _attr(n, "num_split") not in (None, len(sz)):
            raise ConvertError(f"{n['name']}: num_split mismatch")
        if isinstance(x, Const):
            parts = np.split(x.value, np.cumsum(sz)[:-1], axis=axis)
            for i, p in enumerate(parts):
                self.set(n, Const(p, f"{n['name']}:{i}"), i)
            return
        src = self.materialize(x, x.perm)
        outs = [self.uniq(n["name"] if i == 0 else f"{n['name']}:{i}") for i in range(len(sz))]
        self.emit("Split", [src, self.init(f"{n['name']}/split", np.array(sz, np.int64))],
                  outs, n["name"], axis=x.perm[axis])
        for i, o in enumerate(outs):
            s = list(x.shape)
            s[axis] = sz[i]
            self.set(n, Dyn(o, x.perm, s), i)


# --------------------------------------------------------------------------
# graph-level helpers
# --------------------------------------------------------------------------

def topo_sort(nodes, outputs):
    """Nodes needed for `outputs`, in a deterministic topological order."""
    by_name = {n["name"]: (i, n) for i, n in enumerate(nodes)}
    need, stack = set(), [_parse_input(o)[0] for o in outputs]
    while stack:
        nm = stack.pop()
        if nm in need:
            continue
        if nm not in by_name:
            raise ConvertError(f"reference to unknown node {nm}")
        need.add(nm)
        for r in by_name[nm][1].get("input", []):
            k = _parse_input(r)
            if k is not None:
                stack.append(k[0])
    deps = {nm: set() for nm in need}
    users = {nm: [] for nm in need}
    for nm in need:
        for r in by_name[nm][1].get("input", []):
            k = _parse_input(r)
            if k is not None and k[0] not in deps[nm]:
                deps[nm].add(k[0])
                users[k[0]].append(nm)
    heap = [by_name[nm][0] for nm in need if not deps[nm]]
    heapq.heapify(heap)
    order, left = [], {nm: len(d) for nm, d in deps.items()}
    while heap:
        i = heapq.heappop(heap)
        n = nodes[i]
        order.append(n)
        for u in sorted(users[n["name"]], key=lambda x: by_name[x][0]):
            left[u] -= 1
            if left[u] == 0:
                heapq.heappush(heap, by_name[u][0])
    if len(order) != len(need):
        raise ConvertError("graph has a cycle")
    return order


def _is_score_path(by_name, ref):
    """True if `ref` is a Sigmoid, looking through shape-only ops."""
    nm = _parse_input(ref)[0]
    for _ in range(64):
        n = by_name[nm]
        if n["op"] == "Sigmoid":
            return True
        if n["op"] not in ("Identity", "Transpose", "Reshape"):
            return False
        nm = _parse_input(n["input"][0])[0]
    return False


def convert(json_path, weights_arg, log=print):
    t0 = time.perf_counter()
    with open(json_path, "r", encoding="utf-8") as f:
        model = json.load(f)
    if model.get("format") not in ("graph-model", None):
        raise ConvertError(f"not a TF.js graph model (format={model.get('format')})")
    topo = model["modelTopology"]
    nodes = topo.get("node", [])
    if topo.get("library", {}).get("function"):
        raise ConvertError("models with function libraries (control flow) are not supported")
    unknown = sorted({n["op"] for n in nodes} - set(SUPPORTED_OPS))
    if unknown:
        bad = [n["name"] for n in nodes if n["op"] in unknown][:5]
        raise ConvertError(f"unsupported TF op type(s): {', '.join(unknown)} (e.g. node {bad})")
    weights = load_weights(model.get("weightsManifest", []), weights_arg)

    sig_out = list(model.get("signature", {}).get("outputs", {}).keys())
    if not sig_out:
        used = {(_parse_input(r) or ("",))[0] for n in nodes for r in n.get("input", [])}
        sig_out = [n["name"] for n in nodes if n["name"] not in used and n["op"] != "Const"]
    order = topo_sort(nodes, sig_out)

    conv = Converter(order, weights)
    conv.run(sig_out)
    if conv.graph_input is None:
        raise ConvertError("no Placeholder reachable from the outputs")
    in_shape = conv.graph_input[1]
    if len(in_shape) != 4:
        raise ConvertError(f"expected a 4-D image input, got {in_shape}")
    nchw = in_shape[1] in (1, 3, 4) and in_shape[3] not in (1, 3, 4)
    ih, iw = (in_shape[2], in_shape[3]) if nchw else (in_shape[1], in_shape[2])

    # name the detection-head outputs by shape and by whether they carry a Sigmoid
    by_name = conv.by_name
    named = {}
    for ref in sig_out:
        v = conv.get(ref)
        if not isinstance(v, Dyn) or len(v.shape) != 3 or v.shape[0] != 1:
            raise ConvertError(f"output {ref}: expected a [1, N, C] tensor, got "
                               f"{getattr(v, 'shape', 'constant')}")
        cells = v.shape[1]
        stride = next((s for s in (4, 8, 16, 32, 64, 128)
                       if ih % s == 0 and iw % s == 0 and (ih // s) * (iw // s) == cells), None)
        if stride is None:
            raise ConvertError(f"output {ref}: {cells} cells match no stride of a {ih}x{iw} input")
        kind = "cls" if _is_score_path(by_name, ref) else "box"
        key = f"{kind}_{stride}"
        if key in named:
            raise ConvertError(f"two outputs map to {key}")
        named[key] = (ref, v, stride, kind)
    strides = sorted({s for (_, _, s, _) in named.values()})
    if set(named) != {f"{k}_{s}" for s in strides for k in ("cls", "box")}:
        raise ConvertError(f"outputs {sorted(named)} are not cls/box pairs per stride")
    out_order = [f"{k}_{s}" for s in strides for k in ("cls", "box")]

    # materialise outputs and give them their final names
    rename, out_infos = {}, []
    for key in out_order:
        ref, v, stride, kind = named[key]
        src = conv.materialize(v)
        produced = {o for nd in conv.nodes for o in nd.output}
        if src in produced and src not in rename:
            rename[src] = key
        else:
            conv.emit("Identity", [src], [key], key)
        out_infos.append(helper.make_tensor_value_info(key, TensorProto.FLOAT, list(v.shape)))
        log(f"  {key:7s} <- {ref:14s} shape {list(v.shape)}")
    for nd in conv.nodes:
        for i, nm in enumerate(nd.input):
            if nm in rename:
                nd.input[i] = rename[nm]
        for i, nm in enumerate(nd.output):
            if nm in rename:
                nd.output[i] = rename[nm]

    # drop anything that does not feed an output
    live, keep = set(out_order), []
    for nd in reversed(conv.nodes):
        if any(o in live for o in nd.output):
            keep.append(nd)
            live.update(i for i in nd.input if i)
    keep.reverse()
    inits = [t for t in conv.inits if t.name in live]

    graph = helper.make_graph(
        keep, "main",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
        out_infos, initializer=inits)
    onnx_model = helper.make_model(
        graph, producer_name=PRODUCER_NAME, producer_version=PRODUCER_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET)])
    onnx_model.ir_version = IR_VERSION
    onnx_model.doc_string = "Converted from a TensorFlow.js graph model by pixla tfjs2onnx.py"
    meta = {
        "source_format": "tfjs graph-model",
        "source_json_sha256": _sha256_file(json_path),
        "source_weights_sha256": ",".join(
            _sha256_file(p) for p in _weight_files(model, weights_arg)),
        "input_layout": "NCHW" if nchw else "NHWC",
    }
    for k in sorted(meta):
        onnx_model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=meta[k]))
    onnx.checker.check_model(onnx_model, full_check=True)
    ops = {}
    for nd in keep:
        ops[nd.op_type] = ops.get(nd.op_type, 0) + 1
    log(f"  tf nodes: {len(nodes)} ({len(order)} used); onnx nodes: {len(keep)} "
        f"{dict(sorted(ops.items()))}; initializers: {len(inits)}")
    log(f"  conversion took {time.perf_counter() - t0:.2f}s")
    return onnx_model


def _weight_files(model, weights_arg):
    paths = [p for g in model.get("weightsManifest", []) for p in g["paths"]]
    if os.path.isfile(weights_arg) and len(paths) == 1:
        return [weights_arg]
    wdir = weights_arg if os.path.isdir(weights_arg) else os.path.dirname(os.path.abspath(weights_arg))
    return [os.path.join(wdir, p) for p in paths]


def main(argv):
    if len(argv) != 4 or argv[1] in ("-h", "--help"):
        print("usage: python tfjs2onnx.py MODEL.json WEIGHTS_DIR_OR_BIN OUT.onnx", file=sys.stderr)
        return 1
    json_path, weights_arg, out_path = argv[1:4]
    try:
        print(f"tfjs2onnx: {json_path}")
        m = convert(json_path, weights_arg)
    except ConvertError as e:
        print(f"tfjs2onnx: error: {e}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError) as e:  # unreadable / malformed input files
        print(f"tfjs2onnx: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    data = m.SerializeToString(deterministic=True)
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out_path)
    print(f"wrote {out_path} ({len(data)} bytes) sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
