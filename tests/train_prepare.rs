//! The training data preparation (`models/train/prepare.py`, step 1 of the training
//! pipeline) run on a handful of files: one small snapshot per source, laid out as each real
//! source lays out its files and labels, committed to bare git repositories as the search
//! library's `fetch` leaves them. Checks the manifest (every image with its source, licence,
//! split and boxes converted to pixels), that files of unclear licence are never read, and
//! the summary. Needs `git` and `python3` (standard library only).

use crate::common::repo_file;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=pixla",
            "-c",
            "user.email=pixla@localhost",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A bare snapshot `mirrors/<owner>+<name>/repo` holding `files`.
fn snapshot(mirrors: &Path, repo: &str, files: &[(&str, Vec<u8>)]) {
    let work = mirrors.join("work").join(repo.replace('/', "+"));
    for (name, bytes) in files {
        let p = work.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "snapshot"]);
    let bare = mirrors.join(repo.replace('/', "+")).join("repo");
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    git(
        mirrors,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::new();
    image::RgbImage::from_pixel(w, h, image::Rgb([90, 120, 60]))
        .write_to(&mut std::io::Cursor::new(&mut v), image::ImageFormat::Png)
        .unwrap();
    v
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::new();
    image::RgbImage::from_pixel(w, h, image::Rgb([200, 180, 150]))
        .write_to(&mut std::io::Cursor::new(&mut v), image::ImageFormat::Jpeg)
        .unwrap();
    v
}

fn rows(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn row<'a>(rows: &'a [Value], file: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["file"] == file)
        .unwrap_or_else(|| panic!("{file} not in the manifest: {rows:?}"))
}

fn boxes(r: &Value) -> Vec<Vec<f64>> {
    r["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            b.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn prepare_converts_each_source_and_reads_only_what_may_be_used() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("mirrors");
    std::fs::create_dir_all(&m).unwrap();
    // human_rpi: Roboflow YOLO export, polygon labels (and one plain box), three splits
    let poly = b"0 0.1 0.2 0.15 0.2 0.15 0.3 0.1 0.3\n0 0.5 0.5 0.02 0.04\n".to_vec();
    snapshot(
        &m,
        "projectaeroaiml/human_rpi",
        &[
            ("README.dataset.txt", b"License: CC BY 4.0\n".to_vec()),
            ("train/images/beach_1_jpg.rf.aaa.jpg", jpeg(640, 640)),
            ("train/labels/beach_1_jpg.rf.aaa.txt", poly.clone()),
            ("train/images/beach_1_jpg.rf.bbb.jpg", jpeg(640, 640)),
            ("train/labels/beach_1_jpg.rf.bbb.txt", poly),
            ("valid/images/street_2_jpg.rf.ccc.jpg", jpeg(640, 640)),
            ("valid/labels/street_2_jpg.rf.ccc.txt", b"".to_vec()),
            ("test/images/sea_3_jpg.rf.ddd.jpg", jpeg(640, 640)),
            (
                "test/labels/sea_3_jpg.rf.ddd.txt",
                b"0 0.25 0.25 0.05 0.1\n".to_vec(),
            ),
        ],
    );
    // HIT-UAV: COCO-like json per split, categories 0 person, 1 car, 2 bicycle, 3 other vehicle
    let ann = |img: &str, id: u32, anns: &str| {
        format!(r#"{{"images":[{{"id":{id},"filename":"{img}","width":640,"height":512}}],"annotation":[{anns}]}}"#).into_bytes()
    };
    snapshot(
        &m,
        "suojiashun/HIT-UAV-Infrared-Thermal-Dataset",
        &[
            ("LICENSE", b"CC BY 4.0\n".to_vec()),
            (
                "normal_json/annotations/train.json",
                ann(
                    "0_60_90_0_01.jpg",
                    1,
                    r#"{"image_id":1,"bbox":[10,20,8,16],"category_id":0},{"image_id":1,"bbox":[100,100,40,20],"category_id":1},{"image_id":1,"bbox":[200,200,12,12],"category_id":2}"#,
                ),
            ),
            (
                "normal_json/annotations/val.json",
                ann("1_100_30_0_02.jpg", 2, ""),
            ),
            (
                "normal_json/annotations/test.json",
                ann(
                    "0_130_60_0_03.jpg",
                    3,
                    r#"{"image_id":3,"bbox":[5,5,30,20],"category_id":3}"#,
                ),
            ),
            ("normal_json/train/0_60_90_0_01.jpg", jpeg(640, 512)),
            ("normal_json/val/1_100_30_0_02.jpg", jpeg(640, 512)),
            ("normal_json/test/0_130_60_0_03.jpg", jpeg(640, 512)),
        ],
    );
    // aerial-cars-dataset: only the KIT AIS pictures may be read
    let mut kit: Vec<(String, Vec<u8>)> = (1..=6)
        .map(|i| (format!("MOS{i}.png"), png(120, 80)))
        .collect();
    kit.push(("MOS1.txt".into(), b"0 0.5 0.5 0.25 0.125\n".to_vec()));
    kit.push(("MunichStreet02-a.png".into(), png(100, 100)));
    kit.push(("other_source.png".into(), png(50, 50)));
    kit.push(("other_source.txt".into(), b"0 0.5 0.5 0.5 0.5\n".to_vec()));
    kit.push(("README.md".into(), b"KIT AIS, CC BY 3.0\n".to_vec()));
    let kit: Vec<(&str, Vec<u8>)> = kit.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    snapshot(&m, "jekhor/aerial-cars-dataset", &kit);

    let out = d.path().join("data");
    let script = repo_file("models/train/prepare.py");
    let o = Command::new("python3")
        .arg(&script)
        .arg("--mirrors")
        .arg(&m)
        .arg("--out")
        .arg(&out)
        .args(["--at", "HEAD"])
        .output()
        .expect("python3 (the tests need it for the training pipeline's data step)");
    assert!(
        o.status.success(),
        "prepare.py failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    let rows = rows(&out);
    assert_eq!(rows.len(), 4 + 3 + 7, "{rows:?}");
    // polygon → its bounding box, in pixels; a plain YOLO box too
    let r = row(&rows, "human_rpi/train/images/beach_1_jpg.rf.aaa.jpg");
    assert_eq!(
        (
            r["source"].as_str(),
            r["licence"].as_str(),
            r["split"].as_str(),
            r["group"].as_str()
        ),
        (
            Some("human_rpi"),
            Some("CC BY 4.0"),
            Some("train"),
            Some("beach_1_jpg")
        )
    );
    assert_eq!((r["w"].as_u64(), r["h"].as_u64()), (Some(640), Some(640)));
    assert_eq!(
        boxes(r),
        vec![
            vec![0.0, 64.0, 128.0, 32.0, 64.0],
            vec![0.0, 313.6, 307.2, 12.8, 25.6]
        ]
    );
    assert_eq!(
        row(&rows, "human_rpi/valid/images/street_2_jpg.rf.ccc.jpg")["split"],
        "val"
    );
    assert_eq!(
        row(&rows, "human_rpi/test/images/sea_3_jpg.rf.ddd.jpg")["split"],
        "test"
    );
    // HIT-UAV: persons and vehicles kept, bicycles ignored (neither positive nor negative)
    let r = row(&rows, "hit_uav/normal_json/train/0_60_90_0_01.jpg");
    assert_eq!(
        boxes(r),
        vec![
            vec![0.0, 10.0, 20.0, 8.0, 16.0],
            vec![1.0, 100.0, 100.0, 40.0, 20.0]
        ]
    );
    assert_eq!(r["ignore"], serde_json::json!([[200, 200, 12, 12]]));
    assert_eq!(
        (
            r["angle"].as_u64(),
            r["altitude"].as_u64(),
            r["view"].as_str()
        ),
        (Some(90), Some(60), Some("thermal"))
    );
    assert_eq!(
        boxes(row(&rows, "hit_uav/normal_json/test/0_130_60_0_03.jpg"))[0][0],
        1.0,
        "category 3 is a vehicle"
    );
    // KIT AIS: the MOS and MunichStreet02 pictures only; every 6th is val
    assert!(
        rows.iter()
            .all(|r| !r["file"].as_str().unwrap().contains("other_source")),
        "a file of unclear licence was read"
    );
    assert!(!out.join("kit_ais/other_source.png").exists());
    let r = row(&rows, "kit_ais/MOS1.png");
    assert_eq!(
        (r["licence"].as_str(), r["view"].as_str()),
        (Some("CC BY 3.0"), Some("nadir"))
    );
    assert_eq!(boxes(r), vec![vec![1.0, 45.0, 35.0, 30.0, 10.0]]);
    assert_eq!(
        rows.iter()
            .filter(|r| r["source"] == "kit_ais" && r["split"] == "val")
            .count(),
        1
    );
    // every image is written byte for byte, with its sha256 in the manifest
    for r in &rows {
        let bytes = std::fs::read(out.join(r["file"].as_str().unwrap())).unwrap();
        assert_eq!(
            r["sha256"].as_str().unwrap(),
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
        );
    }
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["counts"]["human_rpi/train"]["person"], 4);
    assert_eq!(s["counts"]["hit_uav/train"]["vehicle"], 1);
    assert_eq!(s["sources"]["kit_ais"]["licence"], "CC BY 3.0");
}
