//! Shared helpers for the integration tests: the real binary, the real models (installed by
//! `pixla models fetch`), the real fixtures in ../shared/fixtures.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(rel);
    assert!(
        p.exists(),
        "fixture {} is missing: the tests need ../shared beside the checkout",
        p.display()
    );
    p
}

pub fn pixla() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("pixla").expect("pixla binary");
    c.env_remove("PIXLA_OPERATOR");
    c
}

/// Copy fixtures into a fresh input folder (so the test owns its input tree).
pub fn input_dir(files: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    for f in files {
        let src = shared(f);
        std::fs::copy(&src, inp.join(src.file_name().unwrap())).unwrap();
    }
    (d, inp)
}

/// Run `pixla redact IN -o OUT extra...`; returns (exit code, report, OUT).
pub fn redact(inp: &Path, extra: &[&str]) -> (i32, Value, PathBuf) {
    let out = inp.parent().unwrap().join("out");
    let o = pixla()
        .arg("redact")
        .arg(inp)
        .arg("-o")
        .arg(&out)
        .arg("--quiet")
        .args(extra)
        .output()
        .unwrap();
    let code = o.status.code().unwrap_or(-1);
    let rp = out.join("pixla-report.json");
    assert!(
        rp.exists(),
        "no report; exit {code}; stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&rp).unwrap()).unwrap();
    (code, report, out)
}

pub fn file_entry<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["input"] == name)
        .unwrap_or_else(|| panic!("{name} not in report"))
}

/// Regions of `classes` in a file entry, as [x, y, w, h].
pub fn boxes(entry: &Value, classes: &[&str]) -> Vec<[f64; 4]> {
    entry["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| classes.contains(&r["class"].as_str().unwrap()))
        .map(|r| {
            let b = r["box"].as_array().unwrap();
            [
                b[0].as_f64().unwrap(),
                b[1].as_f64().unwrap(),
                b[2].as_f64().unwrap(),
                b[3].as_f64().unwrap(),
            ]
        })
        .collect()
}

/// Is pixel (x, y) inside any of `regions` ([x, y, w, h])?
pub fn in_any(regions: &[[f64; 4]], x: u32, y: u32) -> bool {
    let (x, y) = (x as f64, y as f64);
    regions
        .iter()
        .any(|r| x >= r[0] && y >= r[1] && x < r[0] + r[2] && y < r[1] + r[3])
}

/// Fraction of ground-truth box `gt` ([x, y, w, h]) covered by the union of `regions`.
pub fn coverage(gt: [f64; 4], regions: &[[f64; 4]]) -> f64 {
    let (x0, y0) = (gt[0].floor() as i64, gt[1].floor() as i64);
    let (x1, y1) = ((gt[0] + gt[2]).ceil() as i64, (gt[1] + gt[3]).ceil() as i64);
    let mut covered = 0u64;
    let mut total = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            total += 1;
            let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
            if regions
                .iter()
                .any(|r| fx >= r[0] && fy >= r[1] && fx < r[0] + r[2] && fy < r[1] + r[3])
            {
                covered += 1;
            }
        }
    }
    covered as f64 / total.max(1) as f64
}

/// COCO ground-truth boxes of a fixture annotation file.
pub fn coco_boxes(json: &str) -> Vec<[f64; 4]> {
    let v: Value = serde_json::from_slice(&std::fs::read(shared(json)).unwrap()).unwrap();
    v["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let b = a["bbox"].as_array().unwrap();
            [
                b[0].as_f64().unwrap(),
                b[1].as_f64().unwrap(),
                b[2].as_f64().unwrap(),
                b[3].as_f64().unwrap(),
            ]
        })
        .collect()
}

pub fn sha256(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}
