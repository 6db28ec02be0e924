//! `pixla eval` through the real binary, the real models and the real fixtures.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

fn eval_json(images: &Path, labels: &Path, extra: &[&str]) -> (i32, Value, String) {
    let o = pixla()
        .arg("eval")
        .arg(images)
        .arg(labels)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    let code = o.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (code, v, stderr)
}

/// terrain1 with its COCO file: all 7 walkers found (IoU >= 0.5) or at least hidden to 95 %
/// each (as `tests/detection.rs` asks of redact), and the JSON has the documented shape.
#[test]
fn terrain1_coco_every_walker_hidden_and_json_schema() {
    let (code, v, err) = eval_json(
        &shared("annotations/sahi_terrain1.jpg"),
        &shared("annotations/sahi_terrain1_coco.json"),
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["schema"], "pixla-eval/1");
    for k in [
        "config",
        "models",
        "images",
        "summary",
        "seconds",
        "area_redacted",
        "warnings",
    ] {
        assert!(!v[k].is_null(), "no `{k}` in {v}");
    }
    // the default detectors: pixla's own on the tiles, NanoDet on the downscaled passes
    assert_eq!(v["models"][0]["name"], "pixla-aerial");
    assert_eq!(v["models"][1]["name"], "nanodet-m");
    let p = &v["summary"]["person"];
    assert_eq!(p["gt"], 7);
    assert_eq!(p["hit"], 7, "{p}");
    assert!(p["found"].as_u64().unwrap() >= 6, "{p}");
    assert!(p["coverage"].as_f64().unwrap() >= 0.95, "{p}");
    for b in ["<16", "16-32", "32-96", ">96"] {
        assert!(p["buckets"][b].is_object(), "bucket {b} missing");
    }
    let img = &v["images"][0];
    assert_eq!(img["image"], "sahi_terrain1.jpg");
    assert_eq!(img["gt"].as_array().unwrap().len(), 7);
    for g in img["gt"].as_array().unwrap() {
        assert!(g["coverage"].as_f64().unwrap() >= 0.95, "walker {g}");
    }
    // only `human` is labelled: plate or vehicle detections are listed but not counted
    assert!(
        v["summary"].get("plate").is_none() && v["summary"].get("vehicle").is_none(),
        "{}",
        v["summary"]
    );
    let a = v["area_redacted"].as_f64().unwrap();
    assert!(a > 0.0 && a < 0.2, "area redacted {a}");
}

/// The same boxes written as YOLO txt give the same result as the COCO file.
#[test]
fn yolo_and_coco_readers_agree() {
    let d = tempfile::tempdir().unwrap();
    let (w, h) = (2048.0, 1365.0);
    let mut txt = String::new();
    for b in coco_boxes("annotations/sahi_terrain1_coco.json") {
        txt += &format!(
            "0 {} {} {} {}\n",
            (b[0] + b[2] / 2.0) / w,
            (b[1] + b[3] / 2.0) / h,
            b[2] / w,
            b[3] / h
        );
    }
    std::fs::write(d.path().join("sahi_terrain1.txt"), txt).unwrap();
    let img = shared("annotations/sahi_terrain1.jpg");
    let (c1, yolo, e1) = eval_json(&img, d.path(), &["--label-classes", "0=human"]);
    let (c2, coco, e2) = eval_json(&img, &shared("annotations/sahi_terrain1_coco.json"), &[]);
    assert_eq!((c1, c2), (0, 0), "{e1} {e2}");
    let gt = |v: &Value| {
        v["images"][0]["gt"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["box"].clone(),
                    g["found"].clone(),
                    g["coverage"].as_f64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (gt(&yolo), gt(&coco));
    assert_eq!(a.len(), 7);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.1, y.1);
        assert!((x.2 - y.2).abs() < 0.01, "{x:?} vs {y:?}");
        let (bx, by) = (x.0.as_array().unwrap(), y.0.as_array().unwrap());
        for k in 0..4 {
            assert!(
                (bx[k].as_f64().unwrap() - by[k].as_f64().unwrap()).abs() < 0.2,
                "{x:?} vs {y:?}"
            );
        }
    }
    assert_eq!(
        yolo["summary"]["person"]["found"],
        coco["summary"]["person"]["found"]
    );
}

/// A COCO file naming an image that is not there: a warning, the others are evaluated.
#[test]
fn missing_image_is_a_warning() {
    let (code, v, err) = eval_json(
        &shared("annotations"),
        &shared("annotations/sahi_terrain_all_coco.json"),
        &["--plate-model", "none"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("terrain3.png") && err.contains("not found"),
        "{err}"
    );
    assert!(v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("terrain3.png")));
    assert_eq!(v["images"].as_array().unwrap().len(), 2);
    assert_eq!(v["summary"]["vehicle"]["gt"], 5);
    assert_eq!(v["summary"]["vehicle"]["hidden"], false);
}

/// Malformed labels are a usage error (exit 2) that names the file and line, before any
/// image is processed.
#[test]
fn malformed_labels_are_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let img = shared("annotations/sahi_terrain1.jpg");
    let bad = d.path().join("bad.json");
    std::fs::write(&bad, br#"{"images": [{"id": 1, "file_name": "terrain1.jpg"}], "categories": [], "annotations": [{"image_id": 1, "category_id": 9, "bbox": [1,2,3,4]}]}"#).unwrap();
    let o = pixla().arg("eval").arg(&img).arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bad.json") && e.contains("category_id"), "{e}");
    std::fs::write(&bad, b"{ not json").unwrap();
    let o = pixla().arg("eval").arg(&img).arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not valid JSON"));
    let y = d.path().join("yolo");
    std::fs::create_dir(&y).unwrap();
    std::fs::write(y.join("classes.txt"), "person\n").unwrap();
    std::fs::write(y.join("sahi_terrain1.txt"), "0 0.5 0.5 0.1\n").unwrap();
    let o = pixla().arg("eval").arg(&img).arg(&y).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("sahi_terrain1.txt line 1"), "{e}");
    // no label file for any image: nothing to evaluate
    std::fs::remove_file(y.join("sahi_terrain1.txt")).unwrap();
    let o = pixla().arg("eval").arg(&img).arg(&y).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no labelled image"));
}

/// The project's own YOLO labels for the plate close-ups: plates are found and hidden, and
/// the table is printed.
#[test]
fn plate_labels_table() {
    let (_d, inp) = input_dir(&[
        "plates/nomeroff_250031471orig.jpeg",
        "plates/nomeroff_example2.jpeg",
    ]);
    let labels = repo_file("fixtures/labels");
    let o = pixla().arg("eval").arg(&inp).arg(&labels).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let t = String::from_utf8_lossy(&o.stdout);
    let row = t
        .lines()
        .find(|l| l.starts_with("plate") && l.contains(" all "))
        .unwrap_or_else(|| panic!("no plate row in\n{t}"));
    let f: Vec<&str> = row.split_whitespace().collect();
    // class size gt found hit dets recall hit% precision coverage
    assert_eq!(f[2], "3", "{t}");
    assert_eq!(f[4], "3", "every plate at least half hidden:\n{t}");
    assert!(f[9].parse::<f64>().unwrap() >= 0.9, "{t}");
}
