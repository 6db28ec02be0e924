#!/usr/bin/env python3
"""pixla against SAHI, side by side, on the same images, model, tiles, thresholds and threads.

Run it through `benches/sahi_compare.sh`, which makes the virtual environment (sahi==0.12.8,
onnxruntime==1.31.1, nothing else) and builds pixla. What it does, one after the other:

1. SAHI: `get_sliced_prediction` with a small DetectionModel around onnxruntime and the same
   NanoDet-m ONNX file pixla uses (same preprocessing: fit into 416x416, BGR, NanoDet's mean/std;
   same decoding; NMS 0.5 per tile), 640 px slices, 0.2 overlap, the whole-image pass
   (`perform_standard_pred`), GREEDYNMM on IOS 0.5, score 0.3. Then what a user's glue script
   would do with its boxes: pad persons by 15 % + 2 px, pixelate them (4 blocks across the
   short side), save the image in its format (EXIF kept). "SAHI predict" is the prediction
   alone, "SAHI + save" includes reading and writing.
2. pixla: `pixla redact IMAGES -o OUT -j T --plate-model none --no-pyramid --timings` (no plate
   model, since SAHI runs one model; no pyramid, which SAHI does not have and which adds nothing
   under 2,560 px anyway). Its wall time includes loading the models, as SAHI's does.
3. Pure inference: the same number of NanoDet calls pixla made, on T threads with one session
   of one intra-op thread each (pixla's own arrangement), nothing else: the floor for pixla.

The three are run in turn `--repeat` times (default 3) and the medians reported, so a noisy
machine slows all of them alike. Prints a table and writes the figures as JSON (`--json FILE`).
"""

import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image
from sahi.models.base import DetectionModel
from sahi.predict import get_sliced_prediction
from sahi.prediction import ObjectPrediction
from sahi.utils.compatibility import fix_full_shape_list, fix_shift_amount_list

SIZE = 416
MEAN = np.array([103.53, 116.28, 123.675], np.float32)  # B, G, R
STD = np.array([57.375, 57.12, 58.395], np.float32)
BINS = 11
VEHICLES = [2, 3, 5, 7]  # COCO car, motorcycle, bus, truck: one class, as in pixla
THRESHOLD = 0.3


def session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def nms(boxes, scores, iou):
    order = np.argsort(-scores)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        if order.size == 1:
            break
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
        ov = inter / np.maximum(area(boxes[i]) + area(boxes[rest]) - inter, 1e-9)
        order = rest[ov <= iou]
    return keep


def decode(outputs, threshold):
    """NanoDet outputs -> [(x1, y1, x2, y2, score, class)] in model-input pixels."""
    cls = {o.shape[1]: o[0] for o in outputs if o.shape[2] == 80}
    reg = {o.shape[1]: o[0] for o in outputs if o.shape[2] == 44}
    dets = []
    for n, c in cls.items():
        g = int(round(n ** 0.5))
        stride = SIZE // g
        r = reg[n]
        for k, scores in ((0, c[:, 0]), (1, c[:, VEHICLES].max(axis=1))):
            idx = np.nonzero(scores >= threshold)[0]
            if idx.size == 0:
                continue
            d = r[idx].reshape(-1, 4, BINS)
            e = np.exp(d - d.max(axis=2, keepdims=True))
            dist = (e * np.arange(BINS, dtype=np.float32)).sum(axis=2) / e.sum(axis=2) * stride
            cx = (idx % g + 0.5) * stride
            cy = (idx // g + 0.5) * stride
            b = np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=1)
            for j in range(idx.size):
                dets.append((*b[j], float(scores[idx[j]]), k))
    if not dets:
        return []
    a = np.array(dets, np.float32)
    out = []
    for k in (0, 1):
        m = a[a[:, 5] == k]
        if len(m):
            out.extend(m[i] for i in nms(m[:, :4], m[:, 4], 0.5))
    return out


class NanoDetOnnx(DetectionModel):
    """SAHI's DetectionModel around onnxruntime and the NanoDet-m ONNX file."""

    threads = 1

    def load_model(self):
        self.set_model(session(self.model_path, self.threads))

    def set_model(self, model, **kwargs):
        self.model = model
        self.input_name = model.get_inputs()[0].name
        self.category_mapping = {"0": "person", "1": "vehicle"}

    def perform_inference(self, image):
        h, w = image.shape[:2]
        s = min(SIZE / w, SIZE / h)
        nw, nh = min(SIZE, max(1, round(w * s))), min(SIZE, max(1, round(h * s)))
        small = image if (nw, nh) == (w, h) else np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
        t = np.zeros((1, 3, SIZE, SIZE), np.float32)
        t[0, :, :nh, :nw] = ((small[..., ::-1].astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)
        outs = self.model.run(None, {self.input_name: t})
        self._original_predictions = (decode(outs, self.confidence_threshold), nw / w, nw, nh)

    def _create_object_prediction_list_from_original_predictions(self, shift_amount_list=[[0, 0]], full_shape_list=None):
        dets, scale, nw, nh = self._original_predictions
        shift = [int(x) for x in fix_shift_amount_list(shift_amount_list)[0]]
        fs = fix_full_shape_list(full_shape_list)
        full = None if fs is None else [int(x) for x in fs[0]]
        preds = []
        for x1, y1, x2, y2, score, k in dets:
            b = [max(0.0, x1) / scale, max(0.0, y1) / scale, min(nw, x2) / scale, min(nh, y2) / scale]
            if full is not None:
                b = [min(b[0], full[1]), min(b[1], full[0]), min(b[2], full[1]), min(b[3], full[0])]
            if b[0] >= b[2] or b[1] >= b[3]:
                continue
            preds.append(ObjectPrediction(bbox=b, category_id=int(k), score=float(score), category_name=self.category_mapping[str(int(k))], shift_amount=shift, full_shape=full))
        self._object_prediction_list_per_image = [preds]


def pixelate(img, box, blocks=4):
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    mx, my = w * 0.15 + 2, h * 0.15 + 2
    b = (max(0, int(x1 - mx)), max(0, int(y1 - my)), min(img.width, int(round(x2 + mx))), min(img.height, int(round(y2 + my))))
    if b[2] <= b[0] or b[3] <= b[1]:
        return
    region = img.crop(b)
    short = min(region.width, region.height)
    cell = max(1, short // blocks)
    small = region.resize((max(1, region.width // cell), max(1, region.height // cell)), Image.BOX)
    img.paste(small.resize(region.size, Image.NEAREST), b[:2])


def run_sahi(images, model_path, threads, out_dir):
    t0 = time.perf_counter()
    NanoDetOnnx.threads = threads
    model = NanoDetOnnx(model_path=str(model_path), confidence_threshold=THRESHOLD, device="cpu")
    predict = 0.0
    boxes = {}
    for p in images:
        img = Image.open(p)
        exif = img.info.get("exif")
        rgb = img.convert("RGB")
        t = time.perf_counter()
        r = get_sliced_prediction(
            rgb, model, slice_height=640, slice_width=640, overlap_height_ratio=0.2, overlap_width_ratio=0.2,
            perform_standard_pred=True, postprocess_type="GREEDYNMM", postprocess_match_metric="IOS",
            postprocess_match_threshold=0.5, verbose=0,
        )
        predict += time.perf_counter() - t
        persons = [o.bbox.to_xyxy() for o in r.object_prediction_list if o.category.name == "person"]
        boxes[p.name] = {"person": persons, "vehicle": [o.bbox.to_xyxy() for o in r.object_prediction_list if o.category.name == "vehicle"]}
        for b in persons:
            pixelate(rgb, b)
        dst = out_dir / p.name
        if p.suffix.lower() in (".jpg", ".jpeg"):
            rgb.save(dst, quality=90, **({"exif": exif} if exif else {}))
        else:
            rgb.save(dst)
    return time.perf_counter() - t0, predict, boxes


def run_pixla(pixla, images, threads, out_dir):
    cmd = [str(pixla), "redact", *map(str, images), "-o", str(out_dir), "-j", str(threads), "--plate-model", "none", "--no-pyramid", "--quiet", "--timings"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"pixla failed ({p.returncode}): {p.stderr}")
    line = next(l for l in p.stderr.splitlines() if l.startswith("pixla: timings: "))
    timings = json.loads(line[len("pixla: timings: "):])
    report = json.loads((out_dir / "pixla-report.json").read_text())
    return wall, timings, report


def pure_inference(model_path, threads, calls):
    sessions = [session(model_path, 1) for _ in range(threads)]
    x = np.random.default_rng(0).standard_normal((1, 3, SIZE, SIZE)).astype(np.float32)
    name = sessions[0].get_inputs()[0].name
    for s in sessions:
        s.run(None, {name: x})  # warm-up, as pixla's first tile is not special either

    def work(k):
        s = sessions[k]
        for _ in range(k, calls, threads):
            s.run(None, {name: x})

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(threads) as ex:
        list(ex.map(work, range(threads)))
    return time.perf_counter() - t0


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else 0.0


def agreement(sahi_boxes, report):
    """Fraction of SAHI's person boxes that pixla also found (IoU >= 0.5 with a detected box)."""
    total = matched = 0
    for f in report["files"]:
        name = Path(f["input"]).name
        ours = [[r["detected"][0], r["detected"][1], r["detected"][0] + r["detected"][2], r["detected"][1] + r["detected"][3]] for r in f.get("regions", []) if r["class"] == "person"]
        for b in sahi_boxes.get(name, {}).get("person", []):
            total += 1
            matched += any(iou(b, o) >= 0.5 for o in ours)
    return matched, total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pixla", required=True, type=Path)
    ap.add_argument("--model", required=True, type=Path, help="nanodet-m.onnx (pixla's models folder)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", type=Path)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each, interleaved; medians are reported")
    ap.add_argument("images", nargs="+", type=Path, help="image files or folders (JPEG/PNG)")
    a = ap.parse_args()
    images = []
    for p in a.images:
        if p.is_dir():
            images += sorted(q for q in p.rglob("*") if q.suffix.lower() in (".jpg", ".jpeg", ".png"))
        else:
            images.append(p)
    names = [p.name for p in images]
    if len(set(names)) != len(names):
        sys.exit("image file names must be unique (the outputs share one folder)")
    mp = sum(Image.open(p).width * Image.open(p).height for p in images) / 1e6
    # the three are run one after the other, `--repeat` times in turn, and each figure is the
    # median: a noisy machine then slows all three alike
    runs = {"sahi_total": [], "sahi_predict": [], "pixla": [], "pure": []}
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "sahi").mkdir()
            sahi_total, sahi_predict, sahi_boxes = run_sahi(images, a.model, a.threads, tmp / "sahi")
            pixla_wall, timings, report = run_pixla(a.pixla, images, a.threads, tmp / "pixla")
        st = {s["stage"]: s for s in timings["stages"]}
        calls = st["inference"]["calls"]
        pure = pure_inference(a.model, a.threads, calls)
        for k, v in (("sahi_total", sahi_total), ("sahi_predict", sahi_predict), ("pixla", pixla_wall), ("pure", pure)):
            runs[k].append(v)
    med = {k: statistics.median(v) for k, v in runs.items()}
    sahi_total, sahi_predict, pixla_wall, pure = med["sahi_total"], med["sahi_predict"], med["pixla"], med["pure"]
    inside = st["inference"]["seconds"] / a.threads
    matched, total = agreement(sahi_boxes, report)
    res = {
        "date": time.strftime("%Y-%m-%d"),
        "host_cpus": os.cpu_count(),
        "threads": a.threads,
        "images": len(images),
        "megapixels": round(mp, 2),
        "tiles_and_passes": calls,
        "sahi_total_s": round(sahi_total, 3),
        "sahi_predict_s": round(sahi_predict, 3),
        "pixla_wall_s": round(pixla_wall, 3),
        "pixla_run_s": timings["wall_seconds"],
        "pure_inference_s": round(pure, 3),
        "pixla_inference_per_thread_s": round(inside, 3),
        "throughput_ratio_vs_sahi_total": round(sahi_total / pixla_wall, 2),
        "throughput_ratio_vs_sahi_predict": round(sahi_predict / pixla_wall, 2),
        "pixla_wall_over_pure_inference": round(pixla_wall / pure, 3),
        "pixla_stages_s": {k: round(v["seconds"], 3) for k, v in st.items()},
        "person_boxes_agreement": f"{matched}/{total}",
        "repeats": a.repeat,
        "runs_s": {k: [round(x, 3) for x in v] for k, v in runs.items()},
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(f"pixla vs SAHI: {len(images)} images, {mp:.1f} MP, {calls} model calls, {a.threads} thread(s), {res['date']}, median of {a.repeat} interleaved runs, load average {res['load_average_1min']}")
    print(f"| what | seconds | images/s |")
    print(f"|---|---|---|")
    for k, v in (("SAHI 0.12.8 + save (end to end)", sahi_total), ("SAHI get_sliced_prediction only", sahi_predict), ("pixla redact (end to end)", pixla_wall), ("pure ONNX inference, same calls", pure)):
        print(f"| {k} | {v:.2f} | {len(images) / v:.2f} |")
    print(f"throughput pixla / SAHI: {res['throughput_ratio_vs_sahi_total']}x (vs SAHI prediction alone: {res['throughput_ratio_vs_sahi_predict']}x)")
    print(f"pixla wall / pure inference: {res['pixla_wall_over_pure_inference']}")
    print("pixla stages (s, summed over threads): " + ", ".join(f"{k} {v}" for k, v in res["pixla_stages_s"].items()))
    print(f"SAHI person boxes also found by pixla (IoU >= 0.5): {matched}/{total}")
    if a.json:
        a.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
