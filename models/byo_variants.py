"""Derive test models with other output layouts from a real Ultralytics YOLOv8 export
(platedet.onnx, [1, 4+nc+32, 8400] + mask prototypes), for tests/byo.rs.

usage: python byo_variants.py IN.onnx OUT_DIR
writes OUT_DIR/transposed.onnx ([1, 8400, 4+nc+32], masks output dropped),
       OUT_DIR/rtdetr.onnx     ([1, 8400, 4+nc], boxes normalised to 0..1, like RT-DETR),
       OUT_DIR/flat.onnx       (a 2-D output: no detection layout).
Needs the `onnx` and `numpy` packages. Nothing here is committed output.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto


def base(path):
    m = onnx.load(path)
    out = m.graph.output[0]
    del m.graph.output[:]
    return m, out.name, out.type.tensor_type.elem_type


def save(m, name, dims, elem, path):
    m.graph.output.append(helper.make_tensor_value_info(name, elem, dims))
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main(src, dst):
    m, o, t = base(src)
    m.graph.node.append(helper.make_node("Transpose", [o], ["t_out"], perm=[0, 2, 1]))
    save(m, "t_out", [1, None, None], t, f"{dst}/transposed.onnx")

    m, o, t = base(src)
    nc = 1
    dt = np.float16 if t == TensorProto.FLOAT16 else np.float32
    m.graph.initializer.extend([
        numpy_helper.from_array(np.array([0, 0, 0], dtype=np.int64), "s0"),
        numpy_helper.from_array(np.array([1, 4, 4 + nc], dtype=np.int64), "s1"),
        numpy_helper.from_array(np.array([1, 1 << 30, 4], dtype=np.int64), "s2"),
        numpy_helper.from_array(np.array([640.0], dtype=dt), "scale"),
        numpy_helper.from_array(np.array([0, 0, 4], dtype=np.int64), "s3"),
    ])
    m.graph.node.extend([
        helper.make_node("Transpose", [o], ["tr"], perm=[0, 2, 1]),
        helper.make_node("Slice", ["tr", "s0", "s2"], ["boxes"]),
        helper.make_node("Div", ["boxes", "scale"], ["nboxes"]),
        helper.make_node("Slice", ["tr", "s3", "s1_end"], ["scores"]),
        helper.make_node("Concat", ["nboxes", "scores"], ["r_out"], axis=2),
    ])
    m.graph.initializer.append(numpy_helper.from_array(np.array([1, 1 << 30, 4 + nc], dtype=np.int64), "s1_end"))
    save(m, "r_out", [1, None, 4 + nc], t, f"{dst}/rtdetr.onnx")

    m, o, t = base(src)
    m.graph.initializer.append(numpy_helper.from_array(np.array([37, -1], dtype=np.int64), "flat_shape"))
    m.graph.node.append(helper.make_node("Reshape", [o, "flat_shape"], ["f_out"]))
    save(m, "f_out", [37, None], t, f"{dst}/flat.onnx")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
