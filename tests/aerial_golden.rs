//! Golden test for pixla's own aerial detector (`models/pixla-aerial.onnx`, built into the
//! binary): on a fixed 640x640 crop of a real nadir fixture, pixla's preprocessing and the
//! model must reproduce the reference that `models/train/export.py --golden` recorded with
//! PyTorch's export and onnxruntime in Python (`fixtures/pixla_aerial_golden.json`).
//!
//! Order of checks: the model's sha256 is the one the reference was made with, the decoded
//! crop's input tensor (RGB ÷ 255, NCHW), the output shape, the strongest raw output cells (up to 20)
//! (box and both scores), and last the decoded person detections on that crop. Needs the
//! ONNX Runtime library (`pixla models fetch`) and `../shared/fixtures`; it never skips.

use crate::common::{golden_crop, onnx_runtime, read_json, repo_file};
use pixla::internal_tests::detect::aerial::STRIDE;
use pixla::internal_tests::detect::centre::CentrePoint;
use pixla::internal_tests::detect::{Class, Detector};
use serde_json::Value;
use std::path::Path;

fn golden() -> Value {
    read_json(&repo_file("fixtures/pixla_aerial_golden.json"))
}

fn model() -> CentrePoint {
    onnx_runtime();
    pixla::internal_tests::detect::aerial::load(
        &pixla::internal_tests::models::models_dir(None),
        1,
        0.3,
        0.3,
    )
    .unwrap_or_else(|e| panic!("cannot load pixla-aerial: {e}"))
}

#[test]
fn the_built_in_model_is_the_one_the_reference_was_made_with() {
    let g = golden();
    assert_eq!(
        g["model_sha256"].as_str(),
        Some(pixla::internal_tests::models::PIXLA_AERIAL.sha256),
        "fixtures/pixla_aerial_golden.json was made with another model: re-run export.py --golden"
    );
    assert_eq!(
        pixla::internal_tests::models::PIXLA_AERIAL
            .status(Path::new("/nonexistent"))
            .as_str(),
        "ok",
        "the built-in bytes do not match the pinned sha256"
    );
}

#[test]
fn preprocessing_and_raw_outputs_match_the_reference() {
    let g = golden();
    let img = golden_crop(&g);
    let t = CentrePoint::input_tensor(&img);
    assert_eq!(t.shape(), &[1, 3, 640, 640]);
    let sum: f64 = t.iter().map(|v| *v as f64).sum();
    let want = g["input_sum"].as_f64().expect("input_sum");
    assert!(
        (sum - want).abs() < 1e-3 * want.abs().max(1.0),
        "input tensor sum {sum}, reference {want}: the recipe (RGB / 255, NCHW) changed"
    );
    // the first pixel's three channels, checked by hand: RGB order, not BGR
    let p = img.get_pixel(0, 0);
    assert_eq!(
        [t[[0, 0, 0, 0]], t[[0, 1, 0, 0]], t[[0, 2, 0, 0]]],
        [
            p[0] as f32 / 255.0,
            p[1] as f32 / 255.0,
            p[2] as f32 / 255.0
        ]
    );

    let m = model();
    let (cells, raw) = m.run(t).expect("inference");
    let shape: Vec<u64> = g["output_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!((6, cells), (shape[0] as usize, shape[1] as usize));
    assert_eq!(cells, (640 / STRIDE as usize).pow(2));
    let top = g["top"].as_array().expect("top");
    // export.py records the clear peaks only (at least 0.1), at most 20
    assert!((2..=20).contains(&top.len()), "{top:?}");
    for cell in top {
        let i = cell["cell"].as_u64().unwrap() as usize;
        for (r, v) in cell["values"].as_array().unwrap().iter().enumerate() {
            let (got, want) = (raw[r * cells + i], v.as_f64().unwrap() as f32);
            // boxes are in pixels (up to 640), scores in 0..1
            let tol = if r < 4 { 1e-2 } else { 1e-4 };
            assert!(
                (got - want).abs() <= tol,
                "cell {i} row {r}: {got} vs reference {want}"
            );
        }
    }
    // the strongest cell of the reference is the strongest here too
    let best = top[0]["cell"].as_u64().unwrap() as usize;
    let score = |i: usize| raw[4 * cells + i].max(raw[5 * cells + i]);
    let ours = (0..cells)
        .max_by(|a, b| score(*a).total_cmp(&score(*b)))
        .unwrap();
    assert_eq!(
        score(ours),
        score(best),
        "the strongest output cell moved: {ours} vs reference {best}"
    );
}

#[test]
fn decoded_detections_are_the_references_peaks() {
    let g = golden();
    let img = golden_crop(&g);
    let m = model();
    let dets = m.detect(&img).expect("detect");
    // every reference cell above the person threshold is a detection (NMS may fold
    // overlapping ones into one), and every detection is one of them
    let peaks: Vec<[f32; 4]> = g["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect::<Vec<_>>()
        })
        .filter(|v| pixla::internal_tests::detect::aerial::calibrate(v[4]) >= 0.3)
        .map(|v| [v[0], v[1], v[2], v[3]])
        .collect();
    let persons: Vec<_> = dets.iter().filter(|d| d.class == Class::Person).collect();
    assert!(
        !persons.is_empty(),
        "no person on a crop with three labelled people"
    );
    for d in &persons {
        let (cx, cy) = ((d.bbox.x1 + d.bbox.x2) / 2.0, (d.bbox.y1 + d.bbox.y2) / 2.0);
        assert!(
            peaks
                .iter()
                .any(|p| (p[0] - cx).abs() < p[2] / 2.0 + 1.0
                    && (p[1] - cy).abs() < p[3] / 2.0 + 1.0),
            "detection {:?} is at no reference peak",
            d.bbox
        );
    }
    assert!(persons.len() <= peaks.len());
}
