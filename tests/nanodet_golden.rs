//! Golden test for the NanoDet-m ONNX model that `pixla models fetch` converts from TF.js
//! (models/tfjs2onnx.py): on a fixed crop of a real street photo, pixla's preprocessing and
//! model must reproduce the reference outputs recorded in `fixtures/nanodet_golden.json`
//! (tf2onnx reference conversion, onnxruntime CPU).
//!
//! Order of checks, as the fixture asks: the JPEG file, then the decoded RGB8 crop, then the
//! float32 input tensor (pixla's `NanoDet::input_tensor`), then the raw outputs (per-element
//! look-ups, min/max, sums), and last the decoded person detections.
//!
//! Needs the real model (`cargo run --release -- models fetch`, or `PIXLA_MODELS_DIR`), the
//! ONNX Runtime library and `../shared/fixtures`; it never skips.

use crate::common::{read_json, repo_file, shared};
use image::RgbImage;
use pixla::internal_tests::detect::nanodet::{NanoDet, SIZE};
use pixla::internal_tests::detect::{Class, Detector};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn golden() -> Value {
    read_json(&repo_file("fixtures/nanodet_golden.json"))
}

fn f(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("golden {what} is not a number: {v}"))
}

fn u(v: &Value, what: &str) -> usize {
    v.as_u64()
        .unwrap_or_else(|| panic!("golden {what} is not an unsigned integer: {v}")) as usize
}

fn s<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("golden {what} is not a string: {v}"))
}

/// The model, or a panic that says how to install it.
fn load_model() -> NanoDet {
    let dir = pixla::internal_tests::models::models_dir(None);
    NanoDet::load(&dir, 1, 0.3, 0.3).unwrap_or_else(|e| {
        panic!(
            "cannot load the NanoDet model from {}: {e}\n\
             install the models with `cargo run --release -- models fetch` \
             (or point PIXLA_MODELS_DIR at a folder that holds them)",
            dir.display()
        )
    })
}

/// Decode the fixture and take the crop the golden recipe describes, checking every hash on
/// the way: the file, then the RGB8 crop (decoder-dependent), then nothing else yet.
fn golden_crop(g: &Value) -> RgbImage {
    let input = &g["input"];
    let path = shared("street/deface_city.jpg");
    let file = std::fs::read(&path).unwrap();
    assert_eq!(
        sha256_hex(&file),
        s(&input["image_file_sha256"], "input.image_file_sha256"),
        "{} is not the image the golden outputs were recorded on",
        path.display()
    );

    let full = image::open(&path)
        .unwrap_or_else(|e| panic!("cannot decode {}: {e}", path.display()))
        .to_rgb8();
    let wh = input["image_size_wh"]
        .as_array()
        .expect("input.image_size_wh");
    assert_eq!(
        (full.width() as usize, full.height() as usize),
        (u(&wh[0], "image width"), u(&wh[1], "image height")),
        "decoded image size"
    );

    let shape = input["tensor_shape"]
        .as_array()
        .expect("input.tensor_shape");
    let shape: Vec<usize> = shape.iter().map(|v| u(v, "tensor_shape")).collect();
    assert_eq!(
        shape,
        vec![1, 3, SIZE as usize, SIZE as usize],
        "golden tensor shape vs pixla's NanoDet input size"
    );

    // the recipe: top-left crop x in [0,416), y in [0,416), no resize
    let crop = image::imageops::crop_imm(&full, 0, 0, SIZE, SIZE).to_image();
    assert_eq!(crop.dimensions(), (SIZE, SIZE));

    let mut sums = [0u64; 3];
    for p in crop.pixels() {
        for c in 0..3 {
            sums[c] += p[c] as u64;
        }
    }
    let crop_sha = sha256_hex(crop.as_raw());
    eprintln!("rgb8 crop: sha256 {crop_sha}, channel sums RGB {sums:?}");
    let want_sums: Vec<u64> = input["rgb8_crop_channel_sums_rgb"]
        .as_array()
        .expect("rgb8_crop_channel_sums_rgb")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(
        crop_sha,
        s(&input["rgb8_crop_sha256"], "input.rgb8_crop_sha256"),
        "the decoded RGB8 crop differs from the golden one (channel sums got {sums:?}, want {want_sums:?}): \
         the JPEG decoder ({}) is not the one the golden outputs were recorded with ({})",
        "image::open().to_rgb8()",
        s(&input["decoder"], "input.decoder")
    );
    assert_eq!(sums.to_vec(), want_sums, "crop channel sums");
    crop
}

/// |got − want| ≤ 1e-3 + 1e-6·abs_sum, as the fixture prescribes for sums.
fn sum_tol(abs_sum: f64) -> f64 {
    1e-3 + 1e-6 * abs_sum
}

#[test]
fn nanodet_matches_golden_outputs() {
    let g = golden();
    let input = &g["input"];
    let outputs = &g["outputs"];
    let elem_tol = f(&g["tolerance"]["element_abs"], "tolerance.element_abs");
    assert!(
        elem_tol > 0.0 && elem_tol <= 1e-3,
        "unexpected element tolerance {elem_tol}"
    );

    // the model pixla would install is the one the golden outputs were compared against
    assert_eq!(
        pixla::internal_tests::models::NANODET.sha256,
        s(&g["model"]["pixla_onnx_sha256"], "model.pixla_onnx_sha256"),
        "pixla's pinned NanoDet sha256 is not the model the golden outputs were checked against"
    );

    // 1. crop (file + RGB8 hashes)
    let crop = golden_crop(&g);

    // 2. input tensor: pixla's preprocessing must produce the recipe's bytes exactly
    let tensor = NanoDet::input_tensor(&crop);
    assert_eq!(tensor.shape(), &[1, 3, SIZE as usize, SIZE as usize]);
    let std_layout = tensor.as_standard_layout();
    let flat = std_layout.as_slice().expect("contiguous tensor");
    let mut bytes = Vec::with_capacity(flat.len() * 4);
    let mut tsum = 0f64;
    for v in flat {
        bytes.extend_from_slice(&v.to_le_bytes());
        tsum += *v as f64;
    }
    let tensor_sha = sha256_hex(&bytes);
    let want_tsum = f(&input["tensor_sum"], "input.tensor_sum");
    eprintln!(
        "input tensor: sha256 {tensor_sha}, sum {tsum:.9} (golden {want_tsum:.9}, diff {:.3e})",
        (tsum - want_tsum).abs()
    );
    assert_eq!(
        tensor_sha,
        s(&input["tensor_sha256_f32le"], "input.tensor_sha256_f32le"),
        "NanoDet::input_tensor does not follow the golden recipe (BGR, (x - mean) / std in f32, NCHW); sum {tsum} vs {want_tsum}"
    );
    // the hash already pins every byte; the sum is a readable cross-check
    assert!(
        (tsum - want_tsum).abs() <= 1e-6 * want_tsum.abs().max(1.0),
        "tensor sum {tsum} vs golden {want_tsum}"
    );

    // 3. raw outputs
    let model = load_model();
    let raw = model.run(tensor).expect("NanoDet inference");
    let strides: Vec<usize> = raw.iter().map(|r| r.0).collect();
    assert_eq!(strides, vec![8, 16, 32], "outputs by stride");

    let mut worst_elem = 0f64; // over every element look-up
    let mut worst_sum_ratio = 0f64; // sum diff / its tolerance, over all sums
    let mut best_person: Option<f64> = None; // best class-0 score in the golden top-20 lists
    let mut top20_floor = f64::MIN; // the largest 20th score: any score not listed is below it
    for (stride, cls, reg) in &raw {
        let g_cells = (SIZE as usize / stride).pow(2);
        for (kind, data, width) in [("cls", cls, 80usize), ("box", reg, 44usize)] {
            let name = format!("{kind}_{stride}");
            let want = &outputs[&name];
            assert!(want.is_object(), "golden has no output {name}");
            let shape: Vec<usize> = want["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|v| u(v, "shape"))
                .collect();
            assert_eq!(shape, vec![1, g_cells, width], "{name}: golden shape");
            assert_eq!(data.len(), g_cells * width, "{name}: element count");

            // sums in f64
            let sum: f64 = data.iter().map(|&v| v as f64).sum();
            let abs_sum: f64 = data.iter().map(|&v| (v as f64).abs()).sum();
            let (want_sum, want_abs) = (f(&want["sum"], "sum"), f(&want["abs_sum"], "abs_sum"));
            let tol = sum_tol(want_abs);
            let (d_sum, d_abs) = ((sum - want_sum).abs(), (abs_sum - want_abs).abs());
            eprintln!(
                "{name}: sum {sum:.6} (golden {want_sum:.6}, diff {d_sum:.3e}), abs_sum {abs_sum:.6} (golden {want_abs:.6}, diff {d_abs:.3e}), tolerance {tol:.3e}"
            );
            assert!(
                d_sum <= tol,
                "{name}: sum {sum} vs golden {want_sum}: diff {d_sum:e} > {tol:e}"
            );
            assert!(
                d_abs <= tol,
                "{name}: abs_sum {abs_sum} vs golden {want_abs}: diff {d_abs:e} > {tol:e}"
            );
            worst_sum_ratio = worst_sum_ratio.max(d_sum / tol).max(d_abs / tol);

            // min / max
            let mn = data.iter().cloned().fold(f32::INFINITY, f32::min) as f64;
            let mx = data.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
            let (d_min, d_max) = (
                (mn - f(&want["min"], "min")).abs(),
                (mx - f(&want["max"], "max")).abs(),
            );
            eprintln!("{name}: min {mn:.7} (diff {d_min:.3e}), max {mx:.7} (diff {d_max:.3e})");
            assert!(
                d_min <= elem_tol,
                "{name}: min {mn} vs golden {}",
                want["min"]
            );
            assert!(
                d_max <= elem_tol,
                "{name}: max {mx} vs golden {}",
                want["max"]
            );
            worst_elem = worst_elem.max(d_min).max(d_max);

            let mut diffs = Vec::new();
            if kind == "cls" {
                // top-20: look each (cell, class) up; do not re-rank
                let top = want["top20"].as_array().expect("top20");
                assert_eq!(top.len(), 20, "{name}: golden top20 length");
                for t in top {
                    let (cell, class, v) = (
                        u(&t["cell"], "cell"),
                        u(&t["class"], "class"),
                        f(&t["value"], "value"),
                    );
                    assert!(
                        cell < g_cells && class < 80,
                        "{name}: golden entry out of range: {t}"
                    );
                    let got = data[cell * 80 + class] as f64;
                    let d = (got - v).abs();
                    assert!(
                        d <= elem_tol,
                        "{name}[cell {cell}][class {class}] = {got} vs golden {v}: diff {d:e}"
                    );
                    diffs.push(d);
                    if class == 0 {
                        best_person = Some(best_person.map_or(v, |b| b.max(v)));
                    }
                }
                let floor = top
                    .iter()
                    .map(|t| f(&t["value"], "value"))
                    .fold(f64::INFINITY, f64::min);
                top20_floor = top20_floor.max(floor);
            } else {
                // the distribution row of the best-scoring cell
                let row = &want["row_of_best_cls_cell"];
                let cell = u(&row["cell"], "row_of_best_cls_cell.cell");
                let vals = row["values"].as_array().expect("row values");
                assert_eq!(vals.len(), 44, "{name}: golden row length");
                assert!(cell < g_cells, "{name}: golden cell out of range");
                // it is the cell of the best class score of this stride (checked, not assumed)
                let best_cell = cls
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .unwrap()
                    .0
                    / 80;
                assert_eq!(
                    best_cell, cell,
                    "{name}: the golden row is not at this stride's best-scoring cell"
                );
                for (k, v) in vals.iter().enumerate() {
                    let v = f(v, "row value");
                    let got = data[cell * 44 + k] as f64;
                    let d = (got - v).abs();
                    assert!(
                        d <= elem_tol,
                        "{name}[cell {cell}][{k}] = {got} vs golden {v}: diff {d:e}"
                    );
                    diffs.push(d);
                }
            }
            let m = diffs.iter().cloned().fold(0.0, f64::max);
            eprintln!(
                "{name}: {} element look-ups, max |diff| {m:.3e}",
                diffs.len()
            );
            worst_elem = worst_elem.max(m);
        }
    }
    eprintln!("overall: max element |diff| {worst_elem:.3e} (tolerance {elem_tol:e}); worst sum diff = {:.1}% of its tolerance", worst_sum_ratio * 100.0);

    // 4. decoding: the best golden person score must come out of `detect` as a Person
    let best_person = best_person.expect("golden top-20 lists hold no person (class 0) score");
    // a person score missing from a top-20 list is at most that list's 20th score
    assert!(
        best_person >= top20_floor,
        "the best listed person score {best_person} may not be the best overall (an unlisted one could reach {top20_floor})"
    );
    if best_person >= 0.3 {
        let dets = <NanoDet as Detector>::detect(&model, &crop).expect("NanoDet::detect");
        let persons: Vec<_> = dets.iter().filter(|d| d.class == Class::Person).collect();
        eprintln!(
            "detect: {} detections, {} persons; best golden person score {best_person:.7}; person scores {:?}",
            dets.len(),
            persons.len(),
            persons.iter().map(|d| d.score).collect::<Vec<_>>()
        );
        let hit = persons
            .iter()
            .map(|d| (d.score as f64 - best_person).abs())
            .fold(f64::INFINITY, f64::min);
        assert!(
            hit <= 1e-3,
            "no Person detection scores {best_person} (closest diff {hit:e}); detections: {dets:?}"
        );
        eprintln!("detect: best person score diff {hit:.3e}");
        for d in &persons {
            let b = d.bbox;
            assert!(
                b.x1 >= 0.0
                    && b.y1 >= 0.0
                    && b.x2 <= SIZE as f32
                    && b.y2 <= SIZE as f32
                    && b.area() > 0.0,
                "person box {b:?} outside the crop"
            );
        }
    } else {
        eprintln!(
            "detect: golden best person score {best_person} < 0.3, no detection expected to match"
        );
    }
}
