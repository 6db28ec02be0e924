//! Shared helpers for the integration tests: the real binary, the real models (installed by
//! `pixla models fetch`), the real fixtures in ../shared/fixtures, the referees (GDAL), and
//! the look-ups more than one test file makes. One definition each: a test file that needs a
//! helper another file has moves it here.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file of this repository, e.g. `fixtures/nanodet_golden.json`.
pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `target/test-output` of this checkout, created: tables and figures the tests leave behind.
pub fn test_output() -> PathBuf {
    let d = repo_file("target/test-output");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A fixture of ../shared/fixtures; panics if it is missing.
pub fn shared(rel: &str) -> PathBuf {
    let p = repo_file("../shared/fixtures").join(rel);
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
    let named: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (*f, Path::new(f).file_name().unwrap().to_str().unwrap()))
        .collect();
    input_tree(&named)
}

/// Copy fixtures into a fresh input folder under names of the test's choosing:
/// `(fixture, path relative to the input folder)`, subfolders made as needed.
pub fn input_tree(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    for (src, dst) in files {
        let p = inp.join(dst);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(shared(src), &p).unwrap();
    }
    (d, inp)
}

/// A JSON file, parsed; panics naming the file.
pub fn read_json(p: &Path) -> Value {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", p.display()))
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

/// Intersection over union of two boxes ([x, y, w, h]).
pub fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let ix = ((a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0])).max(0.0);
    let iy = ((a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1])).max(0.0);
    let i = ix * iy;
    i / (a[2] * a[3] + b[2] * b[3] - i)
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
    let v = read_json(&shared(json));
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

/// sha256 of a file, hex.
pub fn sha256(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

/// Every file under `root`: relative path → sha256.
pub fn tree(root: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap();
            (rel.to_string_lossy().into_owned(), sha256(e.path()))
        })
        .collect()
}

/// Run a GDAL tool (the GeoTIFF referee); its stdout. PAM is off, so the referee never
/// writes `.aux.xml` side files next to the files it reads.
pub fn gdal(tool: &str, args: &[&str]) -> String {
    let o = std::process::Command::new(tool)
        .env("GDAL_PAM_ENABLED", "NO")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{tool} is needed for these tests (Debian package gdal-bin): {e}")
        });
    assert!(
        o.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// ONNX Runtime started in this process, or a panic that says how to install it.
pub fn onnx_runtime() {
    pixla::internal_tests::runtime::init().unwrap_or_else(|e| {
        panic!("ONNX Runtime: {e} (run `cargo run --release -- models fetch`)")
    });
}

/// A golden reference's crop box (`"crop": [x, y, w, h]`).
pub fn golden_crop_box(g: &Value) -> [u32; 4] {
    let c: Vec<u32> = g["crop"]
        .as_array()
        .expect("golden crop")
        .iter()
        .map(|v| v.as_u64().expect("crop value") as u32)
        .collect();
    [c[0], c[1], c[2], c[3]]
}

/// A golden reference's image (`"image"`, under ../shared/fixtures), decoded to RGB8.
pub fn golden_image(g: &Value) -> image::RgbImage {
    let p = shared(g["image"].as_str().expect("golden image"));
    image::open(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .to_rgb8()
}

/// A golden reference's crop of its image.
pub fn golden_crop(g: &Value) -> image::RgbImage {
    let [x, y, w, h] = golden_crop_box(g);
    image::imageops::crop_imm(&golden_image(g), x, y, w, h).to_image()
}

/// Every image of the shared fixtures, as a survey delivery would hold them.
pub const ALL_FIXTURES: &[&str] = &[
    "aerial-nadir/lacmus_01.png",
    "aerial-nadir/lacmus_02.png",
    "aerial-nadir/lacmus_03.png",
    "aerial-nadir/lacmus_05.png",
    "aerial-nadir/lacmus_06.png",
    "aerial-nadir/lacmus_08.png",
    "aerial-nadir/lacmus_09.png",
    "aerial-oblique/sahi_small-vehicles1.jpeg",
    "annotations/sahi_terrain1.jpg",
    "annotations/sahi_terrain2.png",
    "annotations/sahi_terrain4.png",
    "metadata/macuil_DJI_0001.JPG",
    "metadata/storyweb_DJI_0002.JPG",
    "metadata/webodm_tiny_drone_image.jpg",
    "plates/nomeroff_10002_B8233XA.jpg",
    "plates/nomeroff_241458051.jpg",
    "plates/nomeroff_250031471orig.jpeg",
    "plates/nomeroff_296023036.jpeg",
    "plates/nomeroff_example1.jpeg",
    "plates/nomeroff_example2.jpeg",
    "street/deface_city.jpg",
];
