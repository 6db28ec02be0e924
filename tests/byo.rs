//! Bring your own model: `--model path.onnx --model-format F --classes NAME=INDEX,...`, with
//! the real Ultralytics YOLOv8s-seg export `platedet.onnx` and layouts derived from it by
//! `models/byo_variants.py` (generated into a temp dir, never committed).

use crate::common::*;
use serde_json::Value;
use std::path::PathBuf;

fn platedet() -> PathBuf {
    let p = pixla::internal_tests::models::PLATEDET
        .path(&pixla::internal_tests::models::models_dir(None));
    assert!(
        p.is_file(),
        "{} missing: run `pixla models fetch platedet`",
        p.display()
    );
    p
}

fn plates(report: &Value, name: &str) -> Vec<[f64; 4]> {
    boxes(file_entry(report, name), &["plate"])
}

/// Every box of `want` has a box in `got` with IoU >= 0.5, and as many boxes.
fn same_boxes(got: &[[f64; 4]], want: &[[f64; 4]], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for w in want {
        assert!(
            got.iter().any(|g| iou(g, w) >= 0.5),
            "{what}: {w:?} not in {got:?}"
        );
    }
}

/// platedet as a user model (auto layout, plate=0) finds the plates the built-in
/// `--plate-model platedet` finds, and the report names the model by file, sha256 and the
/// licence from its metadata. `eval` runs the same model.
#[test]
fn platedet_as_user_model_matches_the_builtin() {
    let files = [
        "plates/nomeroff_example2.jpeg",
        "plates/nomeroff_250031471orig.jpeg",
    ];
    let (_d, inp) = input_dir(&files);
    let m = platedet();
    let (code, byo, _) = redact(
        &inp,
        &[
            "--model",
            m.to_str().unwrap(),
            "--model-format",
            "auto",
            "--classes",
            "plate=0",
            "--plate-model",
            "none",
        ],
    );
    assert_eq!(code, 0);
    let me = &byo["models"].as_array().unwrap()[0];
    assert_eq!(
        byo["models"].as_array().unwrap().len(),
        1,
        "{}",
        byo["models"]
    );
    assert_eq!(me["name"], "platedet.onnx");
    assert_eq!(me["sha256"], sha256(&m));
    assert!(me["licence"].as_str().unwrap().contains("AGPL-3.0"), "{me}");
    assert!(
        me["format"]
            .as_str()
            .unwrap()
            .starts_with("yolov8 [1,4+nc,N]"),
        "{me}"
    );
    assert_eq!(me["classes"], "plate=0");
    let out2 = inp.parent().unwrap().join("builtin");
    pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out2)
        // the plate bands are pixla's fallback, not the model's: left out of the comparison
        .args(["--quiet", "--plate-model", "platedet", "--no-plate-bands"])
        .assert()
        .success();
    let builtin: Value =
        serde_json::from_slice(&std::fs::read(out2.join("pixla-report.json")).unwrap()).unwrap();
    for f in files {
        let name = f.rsplit('/').next().unwrap();
        let want = plates(&builtin, name);
        assert!(!want.is_empty());
        // the built-in plate step searches inside vehicles and drops boxes that have no
        // plate's shape for their vehicle; the user model runs on the whole picture. On
        // 250031471orig it also fills the VOLKSWAGEN logo on the mud flap, which the
        // built-in step leaves: every built-in plate is among the user model's
        let got = plates(&byo, name);
        for w in &want {
            assert!(
                got.iter().any(|g| iou(g, w) >= 0.5),
                "{name}: {w:?} not in {got:?}"
            );
        }
        if name == "nomeroff_example2.jpeg" {
            same_boxes(&got, &want, name);
        }
    }
    // eval with the same flags: the labelled plates of example2 are found
    let labels = repo_file("fixtures/labels");
    let o = pixla()
        .arg("eval")
        .arg(inp.join("nomeroff_example2.jpeg"))
        .arg(&labels)
        .args([
            "--json",
            "--model",
            m.to_str().unwrap(),
            "--classes",
            "plate=0",
            "--plate-model",
            "none",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["models"][0]["name"], "platedet.onnx");
    assert_eq!(v["summary"]["plate"]["gt"], 2);
    assert_eq!(v["summary"]["plate"]["found"], 2, "{}", v["summary"]);
}

/// Layouts derived from platedet: transposed `[1,N,C]` and RT-DETR-style normalised boxes are
/// recognised by `auto` and find the same plates; a 2-D output and a class index the model
/// lacks are clear usage errors (exit 2) before any file is processed.
#[test]
fn derived_layouts_and_clear_errors() {
    let py = pixla::internal_tests::models::home_dir().join("venv-tfjs2onnx/bin/python");
    assert!(
        py.is_file(),
        "{} missing (made by `pixla models fetch`)",
        py.display()
    );
    let vars = tempfile::tempdir().unwrap();
    let script = repo_file("models/byo_variants.py");
    let st = std::process::Command::new(&py)
        .arg(&script)
        .arg(platedet())
        .arg(vars.path())
        .status()
        .unwrap();
    assert!(st.success());
    let (_d, inp) = input_dir(&["plates/nomeroff_example2.jpeg"]);
    let run = |model: &str, extra: &[&str], out: &str| {
        let out = inp.parent().unwrap().join(out);
        let o = pixla()
            .arg("redact")
            .arg(&inp)
            .arg("-o")
            .arg(&out)
            .arg("--quiet")
            .arg("--model")
            .arg(vars.path().join(model))
            .args(["--plate-model", "none"])
            .args(extra)
            .output()
            .unwrap();
        let report = std::fs::read(out.join("pixla-report.json"))
            .ok()
            .map(|b| serde_json::from_slice::<Value>(&b).unwrap());
        (
            o.status.code().unwrap_or(-1),
            report,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let m = platedet();
    let out0 = inp.parent().unwrap().join("ref");
    pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out0)
        .args([
            "--quiet",
            "--plate-model",
            "none",
            "--classes",
            "plate=0",
            "--model",
        ])
        .arg(&m)
        .assert()
        .success();
    let reference: Value =
        serde_json::from_slice(&std::fs::read(out0.join("pixla-report.json")).unwrap()).unwrap();
    let want = plates(&reference, "nomeroff_example2.jpeg");
    assert_eq!(want.len(), 2);
    for (model, format) in [
        ("transposed.onnx", "yolov8 transposed [1,N,4+nc]"),
        ("rtdetr.onnx", "rtdetr [1,N,4+nc] normalised"),
    ] {
        let (code, r, err) = run(model, &["--classes", "plate=0"], model);
        assert_eq!(code, 0, "{model}: {err}");
        let r = r.unwrap();
        assert!(
            r["models"][0]["format"]
                .as_str()
                .unwrap()
                .starts_with(format),
            "{model}: {}",
            r["models"][0]
        );
        same_boxes(&plates(&r, "nomeroff_example2.jpeg"), &want, model);
    }
    let (code, r, err) = run("flat.onnx", &["--classes", "plate=0"], "flat");
    assert_eq!(code, 2, "{err}");
    assert!(r.is_none(), "no report for a set-up error");
    assert!(
        err.contains("flat.onnx") && err.contains("no detection layout"),
        "{err}"
    );
    let (code, r, err) = run("transposed.onnx", &["--classes", "person=0,car=3"], "idx");
    assert_eq!(code, 2, "{err}");
    assert!(r.is_none());
    assert!(
        err.contains("car=3") && err.contains("the model has 1 classes"),
        "{err}"
    );
}
