//! Golden test for pixla's own plate detector (`models/pixla-plate.onnx`, built into the
//! binary): on a fixed crop of a real plate fixture, pixla's preprocessing and the model must
//! reproduce the reference that `models/train/export.py --golden` recorded with PyTorch's
//! export and onnxruntime in Python (`fixtures/pixla_plate_golden.json`), and the decoded
//! detections must cover the labelled plate in that crop.
//!
//! Needs the ONNX Runtime library (`pixla models fetch`) and `../shared/fixtures`; it never
//! skips.

use crate::common::{golden_crop, golden_crop_box, onnx_runtime, read_json, repo_file};
use pixla::internal_tests::detect::centre::{CentrePoint, STRIDE};
use pixla::internal_tests::detect::{Class, Detector};
use pixla::internal_tests::geom::BoxF;
use serde_json::Value;
use std::path::Path;

fn golden() -> Value {
    read_json(&repo_file("fixtures/pixla_plate_golden.json"))
}

fn model() -> CentrePoint {
    onnx_runtime();
    pixla::internal_tests::detect::plate::load(
        &pixla::internal_tests::models::models_dir(None),
        1,
        0.5,
    )
    .unwrap_or_else(|e| panic!("cannot load pixla-plate: {e}"))
}

#[test]
fn the_built_in_plate_model_is_the_one_the_reference_was_made_with() {
    let g = golden();
    assert_eq!(
        g["model_sha256"].as_str(),
        Some(pixla::internal_tests::models::PIXLA_PLATE.sha256),
        "fixtures/pixla_plate_golden.json was made with another model: re-run export.py --golden"
    );
    assert_eq!(
        pixla::internal_tests::models::PIXLA_PLATE
            .status(Path::new("/nonexistent"))
            .as_str(),
        "ok",
        "the built-in bytes do not match the pinned sha256"
    );
}

#[test]
fn plate_preprocessing_and_raw_outputs_match_the_reference() {
    let g = golden();
    let img = golden_crop(&g);
    let t = CentrePoint::input_tensor(&img);
    let [_, _, w, h] = golden_crop_box(&g);
    assert_eq!(t.shape(), &[1, 3, h as usize, w as usize]);
    let sum: f64 = t.iter().map(|v| *v as f64).sum();
    let want = g["input_sum"].as_f64().expect("input_sum");
    assert!(
        (sum - want).abs() < 1e-3 * want.abs().max(1.0),
        "input tensor sum {sum}, reference {want}: the recipe (RGB / 255, NCHW) changed"
    );
    let (cells, raw) = model().run(t).expect("inference");
    let shape: Vec<u64> = g["output_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!((5, cells), (shape[0] as usize, shape[1] as usize));
    assert_eq!(cells, (w * h / (STRIDE * STRIDE)) as usize);
    let top = g["top"].as_array().expect("top");
    assert!(top.len() <= 20, "{top:?}");
    // the clear peaks only: a weak cell can lose its peak to a neighbour over differences in
    // the last digits (the graph keeps a cell only where it equals its 3x3 maximum); export.py
    // now records only cells of at least 0.1, older references hold weaker ones
    let clear: Vec<&Value> = top
        .iter()
        .filter(|c| c["values"][4].as_f64().unwrap() >= 0.05)
        .collect();
    assert!(clear.len() >= 2, "{clear:?}");
    for cell in clear {
        let i = cell["cell"].as_u64().unwrap() as usize;
        for (r, v) in cell["values"].as_array().unwrap().iter().enumerate() {
            let (got, want) = (raw[r * cells + i], v.as_f64().unwrap() as f32);
            // boxes in pixels (exp of a regression: relative), scores in 0..1
            let tol = if r < 4 {
                (1e-2 * want.abs()).max(1e-2)
            } else {
                // onnxruntime in Python and the pinned library differ in the last digits
                1e-3
            };
            assert!(
                (got - want).abs() <= tol,
                "cell {i} row {r}: {got} vs reference {want}"
            );
        }
    }
}

#[test]
fn the_labelled_plate_in_the_crop_is_found_and_tightly() {
    let g = golden();
    let [x, y, _, _] = golden_crop_box(&g);
    // fixtures/labels/nomeroff_example2.txt, the left plate: centre (0.35597, 0.736792),
    // size (0.073134, 0.039623) of 1340 x 530, in crop coordinates
    let (cx, cy, pw, ph) = (
        0.35597 * 1340.0,
        0.736792 * 530.0,
        0.073134 * 1340.0,
        0.039623 * 530.0,
    );
    let plate = BoxF::new(
        cx - pw / 2.0 - x as f32,
        cy - ph / 2.0 - y as f32,
        cx + pw / 2.0 - x as f32,
        cy + ph / 2.0 - y as f32,
    );
    let dets = model().detect(&golden_crop(&g)).expect("detect");
    let plates: Vec<_> = dets.iter().filter(|d| d.class == Class::Plate).collect();
    let best = plates
        .iter()
        .map(|d| d.bbox.iou(&plate))
        .fold(0.0f32, f32::max);
    assert!(
        best >= 0.5,
        "no detection matches the plate {plate:?} (best IoU {best}): {plates:?}"
    );
    // nothing else in the crop is called a plate
    assert!(plates.len() <= 2, "{plates:?}");
}
