//! The human in the loop: `pixla review` → the page in a real browser (Debian's chromium,
//! driven by tests/browser/review.mjs with playwright-core) → a sidecar → `redact --regions`.
//! Needs `apt-get install chromium` and `npm ci --prefix tests/browser`.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run the browser driver; returns its JSON result.
fn browser(args: &[&std::ffi::OsStr]) -> Value {
    let dir = repo_file("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci --prefix tests/browser` (and `apt-get install chromium`)"
    );
    let chromium = std::env::var_os("PIXLA_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(
        chromium.exists(),
        "{} is missing: `apt-get install -y --no-install-recommends chromium`",
        chromium.display()
    );
    let o = Command::new("node")
        .arg(dir.join("review.mjs"))
        .args(args)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "browser script failed: {}\n{}",
        stdout,
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("browser output is not JSON ({e}): {stdout}"));
    assert_eq!(
        v["requests"]["other"],
        serde_json::json!([]),
        "the page reached outside its folder"
    );
    assert_eq!(
        v["console_errors"],
        serde_json::json!([]),
        "script errors on the page"
    );
    v
}

fn boxes_overlap(a: [u32; 4], b: [u32; 4]) -> bool {
    a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3]
}

fn bx(v: &Value) -> [u32; 4] {
    let a = v.as_array().unwrap();
    [0, 1, 2, 3].map(|i| a[i].as_u64().unwrap() as u32)
}

/// APPn markers of a JPEG (JFIF APP0 is what the encoder writes; anything else would be
/// metadata carried into the review bundle).
fn app_markers(p: &Path) -> Vec<u8> {
    use img_parts::{jpeg::Jpeg, Bytes};
    Jpeg::from_bytes(Bytes::from(std::fs::read(p).unwrap()))
        .unwrap()
        .segments()
        .iter()
        .map(|s| s.marker())
        .filter(|m| (0xE1..=0xEF).contains(m) || *m == 0xFE)
        .collect()
}

/// Open the page, walk to a file with the keyboard, mark a detected plate false, draw a box
/// over a car the detectors did not hide, export, apply with `redact --regions`: the drawn
/// area is pixelated and the false region shows the original pixels again. Then a second
/// review round on top of the first, by hand-written sidecar.
#[test]
fn review_page_round_trip_in_chromium() {
    let (_d, inp) = input_dir(&[
        "annotations/sahi_terrain2.png",
        "plates/nomeroff_10002_B8233XA.jpg",
        "annotations/sahi_terrain4.png",
    ]);
    std::fs::write(inp.join("broken.jpg"), b"not an image").unwrap();
    // a JPEG stored sideways (EXIF orientation 6), as phones and some drones write them
    let rotated = inp.join("rotated.jpg");
    std::fs::copy(shared("plates/nomeroff_241458051.jpg"), &rotated).unwrap();
    let o = Command::new("exiftool")
        .args(["-q", "-n", "-Orientation=6", "-overwrite_original"])
        .arg(&rotated)
        .output()
        .expect("exiftool (Debian: libimage-exiftool-perl)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rot_orig = upright(&rotated);
    let stored = image::image_dimensions(&rotated).unwrap();
    assert_eq!(
        rot_orig.dimensions(),
        (stored.1, stored.0),
        "orientation 6 was not written"
    );
    let (code, before, out) = redact(&inp, &[]);
    assert_eq!(code, 1, "broken.jpg fails");
    let name = "sahi_terrain2.png";
    let e = file_entry(&before, name);
    assert_eq!(
        e["status"], "redacted",
        "the plate detector found nothing on {name}: pick another fixture"
    );
    let regions: Vec<[u32; 4]> = e["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| bx(&r["box"]))
        .collect();
    let false_box = regions[0];
    // a labelled car of the fixture that no region covers: the reviewer hides it by hand
    let draw_box = coco_boxes("annotations/sahi_terrain2_coco.json")
        .into_iter()
        .map(|b| [b[0] as u32, b[1] as u32, b[2] as u32, b[3] as u32])
        .find(|b| regions.iter().all(|r| !boxes_overlap(*r, *b)))
        .expect("every labelled car is already covered: pick another fixture");

    let t = std::time::Instant::now();
    pixla()
        .arg("review")
        .arg(out.join("pixla-report.json"))
        .arg("--quiet")
        .assert()
        .code(0);
    eprintln!("pixla review: {:.2} s", t.elapsed().as_secs_f64());
    let bundle = out.join("review");
    // the bundle holds no metadata and no original pixels: the display image of the
    // redacted file follows the output, not the input, inside the filled plate boxes
    for sub in ["img/v", "img/t"] {
        for f in std::fs::read_dir(bundle.join(sub)).unwrap() {
            let p = f.unwrap().path();
            assert_eq!(
                app_markers(&p),
                Vec::<u8>::new(),
                "{} carries metadata",
                p.display()
            );
        }
    }
    let data = {
        let html = std::fs::read_to_string(bundle.join("index.html")).unwrap();
        let start = html
            .find(r#"<script type="application/json" id="pixla-data">"#)
            .unwrap();
        let body = &html[start..];
        let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
        serde_json::from_str::<Value>(body).unwrap()
    };
    let pf = data["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["input"] == name)
        .unwrap();
    let view = image::open(bundle.join(pf["view"].as_str().unwrap()))
        .unwrap()
        .to_rgb8();
    let (orig, redacted) = (
        image::open(inp.join(name)).unwrap().to_rgb8(),
        image::open(out.join(name)).unwrap().to_rgb8(),
    );
    assert_eq!(
        view.dimensions(),
        orig.dimensions(),
        "{name} is smaller than 2048 px: shown at full size"
    );
    let (mut d_out, mut d_in, mut n) = (0f64, 0f64, 0f64);
    for r in e["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "fill")
    {
        let b = bx(&r["box"]);
        for y in b[1]..b[1] + b[3] {
            for x in b[0]..b[0] + b[2] {
                let (v, o, i) = (
                    view.get_pixel(x, y),
                    redacted.get_pixel(x, y),
                    orig.get_pixel(x, y),
                );
                d_out += (0..3)
                    .map(|c| (v[c] as f64 - o[c] as f64).abs())
                    .sum::<f64>();
                d_in += (0..3)
                    .map(|c| (v[c] as f64 - i[c] as f64).abs())
                    .sum::<f64>();
                n += 3.0;
            }
        }
    }
    assert!(
        n > 0.0 && d_out / n < 12.0 && d_in / n > 40.0,
        "filled boxes: mean difference to the output {:.1}, to the original {:.1}",
        d_out / n,
        d_in / n
    );

    // on the rotated file: an upright area with texture that the model output left as it was
    let rot_old = upright(&out.join("rotated.jpg"));
    let (uw, uh) = rot_orig.dimensions();
    let up_box = [(0.1, 0.6), (0.6, 0.6), (0.1, 0.1), (0.6, 0.1), (0.35, 0.35)]
        .iter()
        .map(|&(fx, fy)| {
            [
                (uw as f64 * fx) as u32,
                (uh as f64 * fy) as u32,
                uw / 4,
                uh / 4,
            ]
        })
        .find(|&u| mean_diff(&rot_old, &rot_orig, u) < 6.0 && energy(&rot_orig, u) > 6.0)
        .expect("no untouched, textured area on rotated.jpg");

    // the browser
    let shots = test_output();
    let plan = shots.join("review-plan.json");
    let reviewer = "Test Reviewer";
    std::fs::write(
        &plan,
        serde_json::json!({"file": name, "false_box": false_box, "draw_box": draw_box, "draw_class": "person", "reviewer": reviewer,
            "upright": {"file": "rotated.jpg", "draw_display": up_box, "draw_class": "person"}})
        .to_string(),
    )
    .unwrap();
    let t = std::time::Instant::now();
    let b = browser(&[
        "roundtrip".as_ref(),
        bundle.join("index.html").as_os_str(),
        shots.as_os_str(),
        plan.as_os_str(),
    ]);
    eprintln!(
        "browser round trip: {:.1} s; {b}",
        t.elapsed().as_secs_f64()
    );
    let with_regions = before["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["output"].is_string() && !f["regions"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(
        b["filters"],
        serde_json::json!({"all": 5, "regions": with_regions, "none": 4 - with_regions, "failed": 1})
    );
    assert_eq!(
        b["upright_display"],
        serde_json::json!([uw, uh, 6]),
        "rotated.jpg is shown upright at full size"
    );
    assert_eq!(b["upright_added"].as_array().unwrap().len(), 1);
    assert!(
        b["failed_placeholders"][0]
            .as_str()
            .unwrap()
            .starts_with("failed (unsupported): not a JPEG"),
        "{}",
        b["failed_placeholders"]
    );
    assert_eq!(b["marked_false"], 1);
    assert_eq!(b["added"].as_array().unwrap().len(), 1);
    assert_eq!(b["download_name"], "pixla-regions.json");
    assert_eq!(b["detail_hidden"], true, "Esc did not go back to the grid");
    assert!(
        b["edited_after_reload"].as_array().unwrap().len() == 2
            && b["edited_after_reload"][1].as_str().unwrap().contains(name),
        "{}",
        b["edited_after_reload"]
    );
    let st = b["status_after_reload"].as_str().unwrap();
    assert!(
        st.contains("exported") && !st.contains("not yet"),
        "status after export and reload: {st}"
    );
    for s in [
        "review-grid.png",
        "review-detail.png",
        "review-detail-rotated.png",
        "review-grid-edited.png",
    ] {
        let img = image::open(shots.join(s)).unwrap();
        assert_eq!((img.width(), img.height()), (1440, 900), "{s}");
    }

    // the exported sidecar
    let side_path = PathBuf::from(b["sidecar"].as_str().unwrap());
    let side_bytes = std::fs::read(&side_path).unwrap();
    let side =
        pixla::internal_tests::sidecar::parse(&side_bytes).expect("the page's sidecar parses");
    let copied: Value = serde_json::from_str(b["copy"]["text"].as_str().unwrap())
        .expect("the copied sidecar is JSON");
    let mut a: Value = serde_json::from_slice(&side_bytes).unwrap();
    let mut c = copied.clone();
    a.as_object_mut().unwrap().remove("created");
    c.as_object_mut().unwrap().remove("created");
    assert_eq!(a, c, "download and copy differ");
    assert_eq!(side.reviewer.as_deref(), Some(reviewer));
    assert_eq!(side.files.keys().collect::<Vec<_>>(), ["rotated.jpg", name]);
    let fe = &side.files[name];
    assert_eq!(fe.output_sha256.as_deref(), e["output_sha256"].as_str());
    assert_eq!(fe.suppress.len(), 1);
    assert_eq!(fe.suppress[0].bbox, false_box);
    assert_eq!(fe.add.len(), 1);
    let drawn = fe.add[0].bbox;
    assert_eq!(
        fe.add[0].class,
        pixla::internal_tests::detect::Class::Person
    );
    assert!(
        (0..4).all(|i| (drawn[i] as i64 - draw_box[i] as i64).abs() <= 2),
        "drawn {drawn:?}, meant {draw_box:?}"
    );

    // apply it
    let old_output = std::fs::read(out.join(name)).unwrap();
    let o = pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .arg("--regions")
        .arg(&side_path)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let after = read_json(&out.join("pixla-report.json"));
    assert_eq!(
        after["run"], before["run"],
        "the batch's run record changed"
    );
    // the box drawn on the upright picture is pixelated there, in the upright picture
    let rot_new = upright(&out.join("rotated.jpg"));
    let inner = [up_box[0] + 4, up_box[1] + 4, up_box[2] - 8, up_box[3] - 8];
    let (e_orig, e_new) = (energy(&rot_orig, inner), energy(&rot_new, inner));
    assert!(e_new < 0.4 * e_orig, "rotated.jpg: detail in the drawn box {e_new:.1}, original {e_orig:.1}: not pixelated where it was drawn");
    for f in before["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["input"] != name && f["input"] != "rotated.jpg")
    {
        assert_eq!(
            file_entry(&after, f["input"].as_str().unwrap()),
            f,
            "an untouched entry changed"
        );
    }
    let ae = file_entry(&after, name);
    assert_eq!(ae["reviewed_by"], reviewer);
    assert_eq!(
        ae["output_sha256"].as_str().unwrap(),
        sha256(&out.join(name))
    );
    let manual: Vec<&Value> = ae["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "manual:Test Reviewer")
        .collect();
    assert_eq!(manual.len(), 1);
    assert_eq!(bx(&manual[0]["box"]), drawn);
    assert!(manual[0]["score"].is_null());
    assert_eq!(ae["suppressed"].as_array().unwrap().len(), 1);
    assert_eq!(bx(&ae["suppressed"][0]["box"]), false_box);
    assert_eq!(ae["suppressed"][0]["suppressed_by"], "manual:Test Reviewer");
    assert!(ae["suppressed"][0]["source"]
        .as_str()
        .unwrap()
        .starts_with("model:"));
    let rv = &after["reviews"][0];
    assert_eq!(rv["sidecar_sha256"].as_str().unwrap(), sha256(&side_path));
    assert_eq!(rv["reviewer"], reviewer);
    assert_eq!(rv["files"], serde_json::json!(["rotated.jpg", name]));
    assert_eq!(after["summary"]["manual_regions"], 2);
    assert_eq!(after["summary"]["suppressed"], 1);

    // pixels (PNG: exact)
    let new = image::open(out.join(name)).unwrap().to_rgb8();
    let prev = image::load_from_memory(&old_output).unwrap().to_rgb8();
    let kept: Vec<[f64; 4]> = ae["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| bx(&r["box"]).map(|v| v as f64))
        .collect();
    let (mut restored, mut was_hidden) = (0, 0);
    for (x, y, p) in new.enumerate_pixels() {
        if in_any(&kept, x, y) {
            continue;
        }
        assert_eq!(
            p,
            orig.get_pixel(x, y),
            "({x},{y}) outside every kept region differs from the original"
        );
        if in_any(&[false_box.map(|v| v as f64)], x, y) {
            restored += 1;
            was_hidden += (prev.get_pixel(x, y) != p) as u32;
        }
    }
    assert!(
        // the first region is small since pixla-aerial finds small people (terrain2: 9 x 18)
        restored >= 100 && was_hidden as f64 > 0.9 * restored as f64,
        "false region: {restored} px restored, {was_hidden} of them were hidden before"
    );
    // the drawn box: uniform blocks of the reported size, aligned to the box, and changed
    let block = manual[0]["block"].as_u64().unwrap() as u32;
    let mut changed = 0;
    for by in (drawn[1]..drawn[1] + drawn[3]).step_by(block as usize) {
        for bxx in (drawn[0]..drawn[0] + drawn[2]).step_by(block as usize) {
            let first = new.get_pixel(bxx, by);
            for y in by..(by + block).min(drawn[1] + drawn[3]) {
                for x in bxx..(bxx + block).min(drawn[0] + drawn[2]) {
                    assert_eq!(
                        new.get_pixel(x, y),
                        first,
                        "drawn box not pixelated at ({x},{y})"
                    );
                    changed += (new.get_pixel(x, y) != orig.get_pixel(x, y)) as u32;
                }
            }
        }
    }
    assert!(
        changed as f64 > 0.8 * (drawn[2] * drawn[3]) as f64,
        "drawn box: only {changed} px changed"
    );

    // the same sidecar again is refused; a plain run over reviewed outputs is refused
    pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .arg("--regions")
        .arg(&side_path)
        .assert()
        .code(2);
    pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2);
    assert_eq!(read_json(&out.join("pixla-report.json")), after);

    // second round, by hand: the drawn person box was wrong after all; a plate was missed
    let plate = [10u32, 10, 40, 20];
    let side2 = out.parent().unwrap().join("round2.json");
    std::fs::write(
        &side2,
        serde_json::json!({"schema": "pixla-regions/1", "files": {name: {
            "output_sha256": ae["output_sha256"],
            "add": [{"class": "plate", "box": plate, "note": "sign"}],
            "suppress": [{"box": drawn}]}}})
        .to_string(),
    )
    .unwrap();
    let o = pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .arg("--regions")
        .arg(&side2)
        .arg("--reviewer")
        .arg("Second")
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r2 = read_json(&out.join("pixla-report.json"));
    let e2 = file_entry(&r2, name);
    let sources: Vec<&str> = e2["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"manual:Second") && !sources.contains(&"manual:Test Reviewer"),
        "{sources:?}"
    );
    let sup: Vec<(String, String)> = e2["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap().into(),
                s["suppressed_by"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(sup.len(), 2, "{sup:?}");
    assert!(
        sup.contains(&("manual:Test Reviewer".into(), "manual:Second".into())),
        "{sup:?}"
    );
    assert!(
        sup.iter()
            .any(|(s, b)| s.starts_with("model:") && b == "manual:Test Reviewer"),
        "the first round's false region came back: {sup:?}"
    );
    assert_eq!(r2["reviews"].as_array().unwrap().len(), 2);
    let new2 = image::open(out.join(name)).unwrap().to_rgb8();
    for y in plate[1]..plate[1] + plate[3] {
        for x in plate[0]..plate[0] + plate[2] {
            assert_eq!(
                new2.get_pixel(x, y).0,
                [0, 0, 0],
                "the added plate is filled"
            );
        }
    }
    for y in drawn[1]..drawn[1] + drawn[3] {
        for x in drawn[0]..drawn[0] + drawn[2] {
            assert_eq!(
                new2.get_pixel(x, y),
                orig.get_pixel(x, y),
                "the withdrawn box is restored"
            );
        }
    }
    // the page of the updated report shows the history
    pixla()
        .arg("review")
        .arg(out.join("pixla-report.json"))
        .arg("--quiet")
        .assert()
        .code(0);
}

/// The picture as shown (EXIF orientation applied by the image crate, not by pixla).
fn upright(p: &Path) -> image::RgbImage {
    use image::ImageDecoder;
    let mut dec = image::ImageReader::open(p)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    let o = dec.orientation().unwrap();
    let mut img = image::DynamicImage::from_decoder(dec).unwrap();
    img.apply_orientation(o);
    img.to_rgb8()
}

/// Mean absolute difference of two pictures over box `u` ([x, y, w, h]).
fn mean_diff(a: &image::RgbImage, b: &image::RgbImage, u: [u32; 4]) -> f64 {
    let (mut s, mut n) = (0f64, 0f64);
    for y in u[1]..u[1] + u[3] {
        for x in u[0]..u[0] + u[2] {
            s += (0..3)
                .map(|c| (a.get_pixel(x, y)[c] as f64 - b.get_pixel(x, y)[c] as f64).abs())
                .sum::<f64>();
            n += 3.0;
        }
    }
    s / n.max(1.0)
}

/// Detail in box `u`: mean absolute difference between horizontal neighbours.
fn energy(a: &image::RgbImage, u: [u32; 4]) -> f64 {
    let (mut s, mut n) = (0f64, 0f64);
    for y in u[1]..u[1] + u[3] {
        for x in u[0]..u[0] + u[2] - 1 {
            s += (0..3)
                .map(|c| (a.get_pixel(x + 1, y)[c] as f64 - a.get_pixel(x, y)[c] as f64).abs())
                .sum::<f64>();
            n += 3.0;
        }
    }
    s / n.max(1.0)
}

fn sidecar_file(dir: &Path, name: &str, v: Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

/// What cannot be carried out exactly fails closed, per file or for the run.
#[test]
fn regions_sidecar_failures_are_closed_and_explained() {
    let (d, inp) = input_dir(&[
        "annotations/sahi_terrain2.png",
        "annotations/sahi_terrain4.png",
    ]);
    let (code, before, out) = redact(&inp, &[]);
    assert_eq!(code, 0);
    let report_bytes = std::fs::read(out.join("pixla-report.json")).unwrap();
    let run = |side: &Path, extra: &[&str]| {
        pixla()
            .arg("redact")
            .arg(&inp)
            .arg("-o")
            .arg(&out)
            .arg("--regions")
            .arg(side)
            .args(extra)
            .output()
            .unwrap()
    };
    let unchanged = || {
        assert_eq!(
            std::fs::read(out.join("pixla-report.json")).unwrap(),
            report_bytes,
            "a refused run changed the report"
        )
    };

    // set-up errors: nothing is touched
    let no_reviewer = sidecar_file(
        d.path(),
        "a.json",
        serde_json::json!({"schema": "pixla-regions/1", "files": {"sahi_terrain4.png": {"add": [{"class": "person", "box": [1, 1, 5, 5]}]}}}),
    );
    let o = run(&no_reviewer, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--reviewer"));
    unchanged();
    let typo = sidecar_file(
        d.path(),
        "b.json",
        serde_json::json!({"schema": "pixla-regions/1", "reviewer": "R", "files": {"sahi_terrain4.png": {"supress": []}}}),
    );
    assert_eq!(run(&typo, &[]).status.code(), Some(2));
    let o = run(&no_reviewer, &["--reviewer", "R", "--margin", "0.3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("margin"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    unchanged();

    // per file: unknown path; stale review (its output goes); a suppress box matching nothing
    let bad = sidecar_file(
        d.path(),
        "c.json",
        serde_json::json!({"schema": "pixla-regions/1", "reviewer": "R", "files": {
            "missing/nope.png": {"add": [{"class": "person", "box": [1, 1, 5, 5]}]},
            "sahi_terrain2.png": {"output_sha256": "0".repeat(64), "add": [{"class": "person", "box": [1, 1, 5, 5]}]},
            "sahi_terrain4.png": {"suppress": [{"box": [0, 0, 30, 30]}]}}}),
    );
    let o = run(&bad, &["--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    let r = read_json(&out.join("pixla-report.json"));
    let err = |n: &str| {
        file_entry(&r, n)["error"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert!(
        err("missing/nope.png").contains("not among the inputs"),
        "{}",
        err("missing/nope.png")
    );
    assert!(
        err("sahi_terrain2.png").contains("stale review")
            && err("sahi_terrain2.png").contains("removed"),
        "{}",
        err("sahi_terrain2.png")
    );
    assert!(
        !out.join("sahi_terrain2.png").exists(),
        "the stale output is still there"
    );
    assert!(
        err("sahi_terrain4.png").contains("matches no region"),
        "{}",
        err("sahi_terrain4.png")
    );
    assert!(!out.join("sahi_terrain4.png").exists());
    for n in ["missing/nope.png", "sahi_terrain2.png", "sahi_terrain4.png"] {
        let e = file_entry(&r, n);
        assert_eq!(e["status"], "failed", "{n}");
        assert_eq!(e["error_kind"], "review", "{n}");
        assert!(e.get("output").is_none(), "{n}");
    }
    assert_eq!(r["summary"]["failed"], 3);
    assert_eq!(r["run"], before["run"]);
}

/// A review re-run writes and removes only inside OUT: with `OUT/sub` a link to a folder
/// outside, a failing file's earlier output there is not removed and a good one is not
/// written there; both fail with the reason.
#[test]
fn regions_rerun_never_writes_or_removes_through_a_link() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(inp.join("sub")).unwrap();
    std::fs::copy(
        shared("plates/nomeroff_example1.jpeg"),
        inp.join("sub/t.jpg"),
    )
    .unwrap();
    let (code, _, out) = redact(&inp, &["-j", "2"]);
    assert_eq!(code, 0);
    let x = d.path().join("X");
    std::fs::rename(out.join("sub"), &x).unwrap();
    std::os::unix::fs::symlink(&x, out.join("sub")).unwrap();
    let before = sha256(&x.join("t.jpg"));
    let run = |side: &Path| {
        pixla()
            .arg("redact")
            .arg(&inp)
            .arg("-o")
            .arg(&out)
            .arg("--regions")
            .arg(side)
            .arg("--quiet")
            .output()
            .unwrap()
    };
    // a box the file cannot take: the file fails, its earlier output (behind the link) stays
    let bad = sidecar_file(
        d.path(),
        "bad.json",
        serde_json::json!({"schema": "pixla-regions/1", "reviewer": "p", "files": {"sub/t.jpg": {"add": [{"class": "person", "box": [100000, 100000, 5, 5]}]}}}),
    );
    let o = run(&bad);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = read_json(&out.join("pixla-report.json"));
    let err = file_entry(&r, "sub/t.jpg")["error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        x.join("t.jpg").is_file(),
        "a file outside OUT was deleted: {err}"
    );
    assert!(
        err.contains("NOT removed") && err.contains("symbolic link"),
        "{err}"
    );
    // a good box: nothing is written through the link
    let good = sidecar_file(
        d.path(),
        "good.json",
        serde_json::json!({"schema": "pixla-regions/1", "reviewer": "p", "files": {"sub/t.jpg": {"add": [{"class": "person", "box": [2, 2, 20, 20]}]}}}),
    );
    let o = run(&good);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = read_json(&out.join("pixla-report.json"));
    let e = file_entry(&r, "sub/t.jpg");
    assert_eq!(e["status"], "failed", "{e:#}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("leads outside the output folder"),
        "{e:#}"
    );
    assert_eq!(e["error_kind"], "io", "{e:#}");
    assert_eq!(
        sha256(&x.join("t.jpg")),
        before,
        "an output was written outside OUT"
    );
    assert_eq!(
        std::fs::read_dir(&x).unwrap().count(),
        1,
        "a file was left outside OUT"
    );
}

/// The review bundle is written and emptied only through real folders: with `OUT/review/img`,
/// or `OUT/review` itself, a link to a folder outside (holding a file and the marker), or the
/// marker a link to a file outside, `pixla review` refuses as a set-up error (exit 2), removes
/// nothing and writes nothing there.
#[test]
fn review_bundle_never_writes_or_removes_through_a_link() {
    let (d, inp) = input_dir(&["annotations/sahi_terrain4.png"]);
    let (code, _, out) = redact(&inp, &[]);
    assert_eq!(code, 0);
    let report = out.join("pixla-report.json");
    let outside = |name: &str| {
        let x = d.path().join(name);
        std::fs::create_dir_all(x.join("img")).unwrap();
        for f in [".pixla-review", "keep.jpg", "img/keep.jpg"] {
            std::fs::write(x.join(f), b"not pixla's").unwrap();
        }
        x
    };
    let refused = |what: &str, x: &Path| {
        let o = pixla()
            .arg("review")
            .arg(&report)
            .arg("--quiet")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(
            err.contains("symbolic link") && err.contains("fix:"),
            "{what}: {err}"
        );
        for f in [".pixla-review", "keep.jpg", "img/keep.jpg"] {
            assert_eq!(
                std::fs::read(x.join(f)).unwrap(),
                b"not pixla's",
                "{what}: {f} outside OUT was changed or removed"
            );
        }
        let mut left: Vec<_> = walkdir::WalkDir::new(x)
            .into_iter()
            .map(|e| e.unwrap().path().strip_prefix(x).unwrap().to_path_buf())
            .collect();
        left.sort();
        assert_eq!(left.len(), 5, "{what}: written outside OUT: {left:?}");
    };
    // OUT/review a real bundle folder, its img a link out
    std::fs::create_dir_all(out.join("review")).unwrap();
    std::fs::write(out.join("review/.pixla-review"), b"made by pixla review\n").unwrap();
    let x = outside("X");
    std::os::unix::fs::symlink(&x, out.join("review/img")).unwrap();
    refused("OUT/review/img -> outside", &x);
    assert!(!out.join("review/index.html").exists());
    // its marker a link to a file outside: not pixla's marker, and not written through
    std::fs::remove_file(out.join("review/img")).unwrap();
    let z = outside("Z");
    std::fs::remove_file(out.join("review/.pixla-review")).unwrap();
    std::os::unix::fs::symlink(z.join(".pixla-review"), out.join("review/.pixla-review")).unwrap();
    refused("OUT/review/.pixla-review -> outside", &z);
    // OUT/review itself a link out
    std::fs::remove_dir_all(out.join("review")).unwrap();
    let y = outside("Y");
    std::os::unix::fs::symlink(&y, out.join("review")).unwrap();
    refused("OUT/review -> outside", &y);
    // without the link, the same call works: a real folder
    std::fs::remove_file(out.join("review")).unwrap();
    let o = pixla()
        .arg("review")
        .arg(&report)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.join("review/index.html").is_file() && out.join("review/img/v/00000.jpg").is_file()
    );
    // a folder named with -o may itself be a link (the user chose it); nothing below it may
    let r = d.path().join("R");
    std::fs::create_dir_all(&r).unwrap();
    std::os::unix::fs::symlink(&r, d.path().join("rv")).unwrap();
    let o = pixla()
        .arg("review")
        .arg(&report)
        .arg("-o")
        .arg(d.path().join("rv"))
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(r.join("index.html").is_file() && r.join("img/t/00000.jpg").is_file());
}

/// 2,000 outputs: the page opens, the grid fills lazily, the last thumbnail loads after a
/// jump to the end, and the keyboard steps through the detail view. The timings are
/// written to target/test-output/review-2000.json (figures, not pass/fail).
#[test]
fn review_page_with_2000_outputs() {
    use image::ImageEncoder;
    use pixla::internal_tests::report::{
        FileEntry, Region, Report, Run, Source, Status, Summary, Tool,
    };
    const N: usize = 2000;
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    std::fs::create_dir_all(out.join("flight")).unwrap();
    let t = std::time::Instant::now();
    let mut files = Vec::new();
    for i in 0..N {
        let rel = format!("flight/DJI_{i:04}.JPG");
        let mut e = FileEntry {
            input: rel.clone(),
            status: Status::Failed,
            ..Default::default()
        };
        if i % 97 == 13 {
            e.error = Some("cannot decode the image data (truncated or corrupt?)".into());
            files.push(e);
            continue;
        }
        // an 800x532 frame: gradient, a tinted square per file (different thumbnails)
        let (w, h) = (800u32, 532u32);
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let sq = x / 66 == (i as u32 % 12) && y / 66 == (i as u32 / 12 % 8);
            if sq {
                image::Rgb([240, 60, (i % 255) as u8])
            } else {
                image::Rgb([
                    (x / 5) as u8,
                    (y / 4) as u8,
                    ((x + y + i as u32) % 256) as u8,
                ])
            }
        });
        let mut b = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut b, 80)
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        std::fs::write(out.join(&rel), &b).unwrap();
        let regions: Vec<Region> = (0..i % 4)
            .map(|k| Region {
                class: pixla::internal_tests::detect::Class::Person,
                score: Some(0.5),
                bbox: [100 + 200 * k as u32, 300, 30, 50],
                detected: [100.0, 300.0, 40.0, 60.0],
                method: pixla::internal_tests::redact::Method::Pixelate,
                block: Some(10),
                source: Source::Model("nanodet-m".into()),
                note: None,
            })
            .collect();
        e.status = if regions.is_empty() {
            Status::Clean
        } else {
            Status::Redacted
        };
        e.regions = regions;
        e.output = Some(rel);
        e.output_sha256 = Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&b)));
        e.width = Some(w);
        e.height = Some(h);
        e.orientation = Some(1);
        files.push(e);
    }
    let run = Run {
        started: "2026-01-01T00:00:00Z".into(),
        finished: "2026-01-01T01:00:00Z".into(),
        operator: "gen".into(),
        host: "gen".into(),
        command: vec![],
        shard: None,
        threads: 1,
        seconds: 3600.0,
        resumed: None,
        interrupted: false,
        batch: None,
    };
    let rep = Report {
        schema: "pixla-report/1".into(),
        tool: Tool {
            name: "pixla".into(),
            version: pixla::VERSION.into(),
            onnxruntime: String::new(),
        },
        run,
        config: serde_json::json!({}),
        models: vec![],
        summary: Summary::of(&files),
        files,
        accuracy: None,
        reviews: vec![],
        shards: vec![],
    };
    std::fs::write(
        out.join("pixla-report.json"),
        serde_json::to_vec(&rep).unwrap(),
    )
    .unwrap();
    let gen_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    pixla()
        .arg("review")
        .arg(out.join("pixla-report.json"))
        .arg("--quiet")
        .assert()
        .code(0);
    let review_s = t.elapsed().as_secs_f64();
    let shots = test_output();
    let index = out.join("review/index.html");
    let b = browser(&["perf".as_ref(), index.as_os_str(), shots.as_os_str()]);
    assert_eq!(b["cards"], N);
    assert_eq!(b["files"], N);
    let lazily = b["thumbnails_loaded_at_first_screen"].as_u64().unwrap();
    assert!(
        lazily < N as u64 / 2,
        "{lazily} thumbnails loaded for the first screen: not lazy"
    );
    assert_eq!(b["position"], format!("{} / {N}", N - 20));
    let bundle_bytes: u64 = walkdir::WalkDir::new(out.join("review"))
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    let mut figures = b.clone();
    figures["generate_s"] = gen_s.into();
    figures["pixla_review_s"] = review_s.into();
    figures["bundle_bytes"] = bundle_bytes.into();
    figures["index_html_bytes"] = std::fs::metadata(&index).unwrap().len().into();
    std::fs::write(
        shots.join("review-2000.json"),
        serde_json::to_vec_pretty(&figures).unwrap(),
    )
    .unwrap();
    eprintln!(
        "2,000 outputs: {}",
        serde_json::to_string_pretty(&figures).unwrap()
    );
}
