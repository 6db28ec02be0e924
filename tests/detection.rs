//! Detection quality on real fixtures, through the real binary and the real models.

use crate::common::*;

/// sahi_terrain1.jpg: 7 labelled walkers (COCO). Every one must be hidden.
#[test]
fn every_labelled_walker_in_terrain1_is_pixelated() {
    let (_d, inp) = input_dir(&["annotations/sahi_terrain1.jpg"]);
    let (code, report, _) = redact(&inp, &[]);
    assert_eq!(code, 0);
    let e = file_entry(&report, "sahi_terrain1.jpg");
    assert_eq!(e["status"], "redacted");
    let persons = boxes(e, &["person"]);
    for gt in coco_boxes("annotations/sahi_terrain1_coco.json") {
        let c = coverage(gt, &persons);
        assert!(
            c >= 0.95,
            "walker {gt:?} only {:.0}% covered by {persons:?}",
            c * 100.0
        );
    }
    assert!(e["regions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["method"] == "pixelate" && r["block"].as_u64().unwrap() >= 2));
}

/// The nadir fixtures (Lacmus screenshots of winter forests seen straight down, 14 labelled
/// people 10-25 px): pixla's own aerial model hides them, where NanoDet hid none. Judged by
/// `pixla eval` at the defaults (hit = at least half of the person's box hidden); the area
/// redacted bounds the false alarms.
#[test]
fn nadir_people_are_hidden_at_the_defaults() {
    let labels = repo_file("fixtures/labels");
    let nadir: Vec<&str> = ALL_FIXTURES
        .iter()
        .copied()
        .filter(|f| f.starts_with("aerial-nadir/"))
        .collect();
    assert_eq!(nadir.len(), 7);
    let (_d, inp) = input_dir(&nadir);
    let o = pixla()
        .arg("eval")
        .arg(&inp)
        .arg(&labels)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &v["summary"]["person"];
    assert_eq!(p["gt"], 14, "{p}");
    assert!(p["hit"].as_u64().unwrap() >= NADIR_MIN_HIT, "{p}");
    let area = v["area_redacted"].as_f64().unwrap();
    assert!(area <= NADIR_MAX_AREA, "area redacted {area}");
    // the same images with NanoDet alone: the reason for the model
    let o = pixla()
        .arg("eval")
        .arg(&inp)
        .arg(&labels)
        .args(["--json", "--detector", "nanodet-m"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["summary"]["person"]["hit"].as_u64().unwrap() <= 2,
        "{}",
        v["summary"]["person"]
    );
}

/// What the committed model reaches on the nadir fixtures (measured; see models/pixla-aerial.md).
const NADIR_MIN_HIT: u64 = 14;
const NADIR_MAX_AREA: f64 = 0.02;

/// sahi_terrain2.png: 5 labelled jeeps. Vehicles are not hidden by default; asking for
/// `vehicle=fill` must cover each of them, which shows the vehicle detector sees them.
#[test]
fn every_labelled_jeep_in_terrain2_is_found() {
    let (_d, inp) = input_dir(&["annotations/sahi_terrain2.png"]);
    let (code, report, _) = redact(&inp, &["--method", "vehicle=fill"]);
    assert_eq!(code, 0);
    let e = file_entry(&report, "sahi_terrain2.png");
    let vehicles = boxes(e, &["vehicle"]);
    for gt in coco_boxes("annotations/sahi_terrain2_coco.json") {
        let c = coverage(gt, &vehicles);
        assert!(
            c >= 0.9,
            "jeep {gt:?} only {:.0}% covered by {vehicles:?}",
            c * 100.0
        );
    }
}

/// The street fixture has about 25 people; most stand in a crowd at the crossing.
#[test]
fn street_crowd_is_mostly_hidden() {
    let (_d, inp) = input_dir(&["street/deface_city.jpg"]);
    let (code, report, _) = redact(&inp, &[]);
    assert_eq!(code, 0);
    let e = file_entry(&report, "deface_city.jpg");
    let persons = boxes(e, &["person"]);
    assert!(persons.len() >= 8, "only {} persons", persons.len());
    // the crowd spans the frame's lower two thirds: at least 60 % of it is hidden
    let c = coverage([0.0, 150.0, 800.0, 350.0], &persons);
    assert!(c >= 0.6, "crowd area only {:.0}% hidden", c * 100.0);
}

/// nomeroff_250031471orig.jpeg: one plate, labelled as a VIA polygon. Its bounding box must be
/// entirely inside a filled plate region, and the pixels there must be black in the output.
#[test]
fn labelled_plate_is_filled_solid() {
    let (_d, inp) = input_dir(&["plates/nomeroff_250031471orig.jpeg"]);
    let (code, report, out) = redact(&inp, &[]);
    assert_eq!(code, 0);
    let via: serde_json::Value = serde_json::from_slice(
        &std::fs::read(shared("plates/nomeroff_250031471orig_via_region_data.json")).unwrap(),
    )
    .unwrap();
    let shape = &via["_via_img_metadata"]["250031471orig.jpeg"]["regions"][0]["shape_attributes"];
    let xs: Vec<f64> = shape["all_points_x"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let ys: Vec<f64> = shape["all_points_y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (x0, x1) = (
        xs.iter().cloned().fold(f64::MAX, f64::min),
        xs.iter().cloned().fold(f64::MIN, f64::max),
    );
    let (y0, y1) = (
        ys.iter().cloned().fold(f64::MAX, f64::min),
        ys.iter().cloned().fold(f64::MIN, f64::max),
    );
    let gt = [x0, y0, x1 - x0, y1 - y0];
    let e = file_entry(&report, "nomeroff_250031471orig.jpeg");
    let plates = boxes(e, &["plate"]);
    assert_eq!(
        coverage(gt, &plates),
        1.0,
        "plate {gt:?} not fully covered by {plates:?}"
    );
    assert!(e["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["class"] == "plate")
        .all(|r| r["method"] == "fill"));
    let img = image::open(out.join("nomeroff_250031471orig.jpeg"))
        .unwrap()
        .to_rgb8();
    // JPEG re-encoding rings a little at the fill's edges: judge the inner polygon area
    let (cx, cy) = (
        xs.iter().sum::<f64>() / xs.len() as f64,
        ys.iter().sum::<f64>() / ys.len() as f64,
    );
    for dy in -5i32..=5 {
        for dx in -20i32..=20 {
            let p = img.get_pixel((cx as i32 + dx) as u32, (cy as i32 + dy) as u32);
            assert!(
                p.0.iter().all(|&v| v < 24),
                "plate pixel {p:?} is not black"
            );
        }
    }
}

/// Each close-up plate fixture gets at least one filled plate region.
#[test]
fn every_plate_close_up_gets_a_plate_region() {
    let files = [
        "plates/nomeroff_10002_B8233XA.jpg",
        "plates/nomeroff_241458051.jpg",
        "plates/nomeroff_296023036.jpeg",
        "plates/nomeroff_example1.jpeg",
        "plates/nomeroff_example2.jpeg",
    ];
    let (_d, inp) = input_dir(&files);
    let (code, report, _) = redact(&inp, &[]);
    assert_eq!(code, 0);
    for f in files {
        let name = f.rsplit('/').next().unwrap();
        let e = file_entry(&report, name);
        let n = boxes(e, &["plate"]).len();
        let want = if name == "nomeroff_example2.jpeg" {
            2
        } else {
            1
        };
        assert!(n >= want, "{name}: {n} plate regions, want >= {want}");
    }
    // the dark SUV behind the yellow car: its plate (labelled by eye, about 50x20 px) must be
    // filled too, although NanoDet's box for the yellow car contains the SUV's box
    let e = file_entry(&report, "nomeroff_10002_B8233XA.jpg");
    let c = coverage([158.0, 382.0, 50.0, 18.0], &boxes(e, &["plate"]));
    assert!(
        c >= 0.95,
        "background SUV plate only {:.0}% filled",
        c * 100.0
    );
}

const PLATE_FIXTURES: [&str; 6] = [
    "plates/nomeroff_10002_B8233XA.jpg",
    "plates/nomeroff_241458051.jpg",
    "plates/nomeroff_250031471orig.jpeg",
    "plates/nomeroff_296023036.jpeg",
    "plates/nomeroff_example1.jpeg",
    "plates/nomeroff_example2.jpeg",
];

/// The plate fixtures at the defaults (pixla-plate in the vehicles pixla-aerial and NanoDet
/// find), judged by `pixla eval` against `fixtures/labels`: every labelled plate is hidden
/// (at least half of it filled), and no plate fill, margin included, covers more than half
/// of any vehicle box the detectors found.
#[test]
fn every_labelled_plate_is_hidden_and_no_fill_covers_half_a_vehicle() {
    let labels = repo_file("fixtures/labels");
    let (_d, inp) = input_dir(&PLATE_FIXTURES);
    let o = pixla()
        .arg("eval")
        .arg(&inp)
        .arg(&labels)
        .args(["--json", "-j", "2"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let models: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(models.contains(&"pixla-plate"), "{models:?}");
    let (mut plates, mut missed) = (0, vec![]);
    for im in v["images"].as_array().unwrap() {
        let file = im["image"].as_str().unwrap_or("?");
        for g in im["gt"].as_array().unwrap() {
            if g["class"] == "plate" {
                plates += 1;
                if g["hit"] != true {
                    missed.push(format!("{file} {}", g["box"]));
                }
            }
        }
        let xywh = |d: &serde_json::Value| -> [f64; 4] {
            let b: Vec<f64> = d["box"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            [b[0], b[1], b[2], b[3]]
        };
        let dets = im["detections"].as_array().unwrap();
        for p in dets.iter().filter(|d| d["class"] == "plate") {
            let [x, y, w, h] = xywh(p);
            // pixla's margin: 15 % of the size plus 2 px on each side, twice that for a weak
            // plate (below the plate threshold, 0.5, standing in for a plate band)
            let m = if p["score"].as_f64().unwrap() < 0.5 {
                0.3
            } else {
                0.15
            };
            let (dx, dy) = (m * w + 2.0, m * h + 2.0);
            let fill = [x - dx, y - dy, w + 2.0 * dx, h + 2.0 * dy];
            // vehicle boxes smaller than the fill (a bumper or the plate itself taken for a
            // vehicle) are no vehicle the fill could black out
            let fill_area = fill[2] * fill[3];
            for veh in dets.iter().filter(|d| d["class"] == "vehicle") {
                let vb = xywh(veh);
                if vb[2] * vb[3] < fill_area {
                    continue;
                }
                let share = coverage(vb, &[fill]);
                assert!(
                    share <= 0.5,
                    "{file}: the plate fill {fill:?} covers {:.0} % of the vehicle {vb:?}",
                    share * 100.0
                );
            }
        }
    }
    assert_eq!(plates, 10, "the plate fixtures hold 10 labelled plates");
    // the one plate pixla-plate misses: the minibus's, cut by the right edge of the frame
    // (its vehicle box merges into the police car's, which holds a plate, so no band either)
    assert!(
        missed.is_empty() || missed == ["nomeroff_241458051.jpg [972.0,248.0,28.0,22.0]"],
        "not hidden: {missed:?}"
    );
}

/// `pixla check` on pixla's own redacted plate fixtures, with their report, finds no plate at
/// pixla's fills and no confident plate anywhere; on the originals it refuses, naming the
/// plates.
#[test]
fn check_passes_pixlas_own_plate_outputs_and_names_the_plates_of_the_originals() {
    let (_d, inp) = input_dir(&PLATE_FIXTURES);
    let (code, _report, out) = redact(&inp, &[]);
    assert_eq!(code, 0);
    let rp = out.join("pixla-report.json");
    let o = pixla()
        .args(["check", "--json", "-j", "2"])
        .arg(&out)
        .arg("--report")
        .arg(&rp)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // no plate at or beside pixla's own fills (their edges are taken as the fills); what is
    // left are weak false alarms near the threshold (0.5), never a confident plate
    let plate_findings: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "plate")
        .collect();
    assert!(
        plate_findings
            .iter()
            .all(|f| f["score"].as_f64().unwrap() < 0.6),
        "{plate_findings:#?}"
    );
    assert!(plate_findings.len() <= 2, "{plate_findings:#?}");
    let o = pixla()
        .args(["check", "--json", "-j", "2"])
        .arg(&inp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let named: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "plate")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    // all but the tilted plate of 250031471orig, which pixla-plate sees only below the
    // threshold (redact fills it as a weak plate; the gate counts detections at the threshold)
    assert!(named.len() >= PLATE_FIXTURES.len() - 1, "{named:?}");
    assert!(
        named.len() == PLATE_FIXTURES.len() || !named.contains("nomeroff_250031471orig.jpeg"),
        "{named:?}"
    );
}
