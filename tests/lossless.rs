//! The lossless JPEG path on real camera JPEGs: only the DCT blocks the regions touch change,
//! fills are black to the pixel and pixelations on the MCU grid; quantisation tables, sampling factors and restart markers are kept; and
//! the fallback to re-encoding is recorded per file.

use crate::common::*;
use pixla::internal_tests::geom::PixBox;
use pixla::internal_tests::jpeg_lossless::{self, compare};

/// What defines how the scan is coded: the quantisation tables (by table id; one DQT
/// segment may hold several), the frame header (SOFn: size, components, sampling factors,
/// table selectors) and the restart interval (DRI).
fn critical_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let j = img_parts::jpeg::Jpeg::from_bytes(img_parts::Bytes::copy_from_slice(jpeg)).unwrap();
    let mut out = Vec::new();
    for s in j.segments() {
        let c = s.contents();
        match s.marker() {
            0xDB => {
                let mut i = 0;
                while i < c.len() {
                    let n = if c[i] >> 4 == 0 { 64 } else { 128 };
                    out.push((0xDB, c[i..i + 1 + n].to_vec()));
                    i += 1 + n;
                }
            }
            0xC0 | 0xC1 | 0xC2 | 0xDD => out.push((s.marker(), c.to_vec())),
            _ => {}
        }
    }
    out.sort();
    out
}

fn rects(entry: &serde_json::Value) -> Vec<PixBox> {
    boxes(entry, &["person", "plate", "face", "vehicle"])
        .iter()
        .map(|b| PixBox {
            x: b[0] as u32,
            y: b[1] as u32,
            w: b[2] as u32,
            h: b[3] as u32,
        })
        .collect()
}

/// The boxes of the regions hidden by `method`.
fn rects_by(entry: &serde_json::Value, method: &str) -> Vec<PixBox> {
    entry["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == method)
        .map(|r| {
            PixBox::from(std::array::from_fn(|i| {
                r["box"][i].as_u64().unwrap() as u32
            }))
        })
        .collect()
}

/// Camera JPEGs of every kind among the fixtures: 4:2:0 and 4:4:4 baseline (plates),
/// 4:2:2 with restart markers (DJI), progressive (street).
const CAMERA_JPEGS: &[&str] = &[
    "plates/nomeroff_10002_B8233XA.jpg",
    "plates/nomeroff_241458051.jpg",
    "plates/nomeroff_296023036.jpeg",
    "plates/nomeroff_example2.jpeg",
    "metadata/storyweb_DJI_0002.JPG",
    "street/deface_city.jpg",
];

#[test]
fn only_blocks_under_regions_change_on_camera_jpegs() {
    let (_d, inp) = input_dir(CAMERA_JPEGS);
    let (code, report, out) = redact(&inp, &[]);
    assert_eq!(code, 0);
    let mut kinds = std::collections::BTreeSet::new();
    for f in CAMERA_JPEGS {
        let name = std::path::Path::new(f)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let e = file_entry(&report, name);
        assert_eq!(
            e["status"], "redacted",
            "{name}: the test needs a redacted file"
        );
        assert_eq!(e["encoding"], "lossless", "{name}: {:?}", e["fallback"]);
        let src = std::fs::read(inp.join(name)).unwrap();
        let dst = std::fs::read(out.join(name)).unwrap();
        let g = jpeg_lossless::grid(&src).unwrap();
        kinds.insert((
            g.samp[0],
            g.progressive,
            critical_segments(&src).iter().any(|s| s.0 == 0xDD),
        ));
        // the report's pixelated boxes are on the MCU grid it names
        let mcu = [g.mcu_w as u64, g.mcu_h as u64];
        assert_eq!(e["mcu"], serde_json::json!(mcu));
        for r in &rects_by(e, "pixelate") {
            assert_eq!(
                (r.x % g.mcu_w, r.y % g.mcu_h),
                (0, 0),
                "{name}: box {r:?} not on the MCU grid"
            );
            assert!(
                (r.x + r.w) % g.mcu_w == 0 || r.x + r.w == g.width,
                "{name}: box {r:?} does not end on the grid"
            );
            assert!(
                (r.y + r.h) % g.mcu_h == 0 || r.y + r.h == g.height,
                "{name}: box {r:?} does not end on the grid"
            );
        }
        // coefficients: identical outside the blocks the boxes touch, rewritten inside
        let rs: Vec<PixBox> = rects(e)
            .iter()
            .filter_map(|r| jpeg_lossless::align_to_mcu(*r, &g))
            .collect();
        let c = compare(&src, &dst, &rs).unwrap();
        assert_eq!(c.blocks_outside, 0, "{name}: {c:?}");
        assert_eq!(c.pixels_outside, 0, "{name}: {c:?}");
        assert!(
            c.blocks_inside > 0 && c.pixels_inside > 0,
            "{name}: nothing changed inside the regions: {c:?}"
        );
        assert!(e["blocks_changed"].as_u64().unwrap() as usize >= c.blocks_inside);
        // the coding parameters: quantisation tables, sampling factors, restart interval
        assert_eq!(
            critical_segments(&src),
            critical_segments(&dst),
            "{name}: DQT/SOF/DRI differ"
        );
        assert_eq!(
            g.progressive,
            jpeg_lossless::grid(&dst).unwrap().progressive
        );
        // a fill is black to the pixel, not to the block: luma at most 2 levels (libjpeg's
        // integer IDCT rounds differently from the float one the rewrite checks with), and
        // each channel at most 8 (chroma within 2 levels of neutral, upsampled)
        let plain = jpeg_lossless::decode_rgb_plain(&dst).unwrap();
        for r in rects_by(e, "fill") {
            for (x, y) in (r.y..r.y + r.h).flat_map(|y| (r.x..r.x + r.w).map(move |x| (x, y))) {
                let [cr, cg, cb] = plain.get_pixel(x, y).0.map(f32::from);
                let luma = 0.299 * cr + 0.587 * cg + 0.114 * cb;
                assert!(
                    luma <= 2.0 && cr.max(cg).max(cb) <= 8.0,
                    "{name}: fill {r:?} not black at {x},{y}: {:?}",
                    [cr, cg, cb]
                );
            }
        }
        // and with the image crate's own decoder (fancy chroma upsampling reaches one
        // chroma sample across a block edge, so allow the MCU ring around each box)
        let (a, b) = (
            image::load_from_memory(&src).unwrap().to_rgb8(),
            image::load_from_memory(&dst).unwrap().to_rgb8(),
        );
        let ring: Vec<[f64; 4]> = rs
            .iter()
            .map(|r| {
                [
                    r.x as f64 - g.mcu_w as f64,
                    r.y as f64 - g.mcu_h as f64,
                    (r.w + 2 * g.mcu_w) as f64,
                    (r.h + 2 * g.mcu_h) as f64,
                ]
            })
            .collect();
        let outside_ring = a
            .enumerate_pixels()
            .filter(|(x, y, p)| !in_any(&ring, *x, *y) && *p != b.get_pixel(*x, *y))
            .count();
        assert_eq!(
            outside_ring, 0,
            "{name}: pixels changed beyond the MCU ring"
        );
    }
    // the fixtures really cover the kinds claimed above
    assert!(
        kinds.iter().any(|k| k.0 == (2, 2)),
        "no 4:2:0 fixture: {kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| k.0 == (2, 1) && k.2),
        "no 4:2:2 fixture with restart markers: {kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| k.0 == (1, 1) && !k.1),
        "no 4:4:4 baseline fixture: {kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| k.1),
        "no progressive fixture: {kinds:?}"
    );
}

#[test]
fn reencode_flag_and_blur_take_the_reencode_path_and_say_so() {
    let (_d, inp) = input_dir(&["plates/nomeroff_241458051.jpg"]);
    let (code, report, out) = redact(&inp, &["--jpeg", "reencode"]);
    assert_eq!(code, 0);
    let e = file_entry(&report, "nomeroff_241458051.jpg");
    assert_eq!(e["encoding"], "reencode");
    assert!(e["jpeg_quality"].as_u64().unwrap() >= 75);
    // re-encoding changes blocks far from any region: what the lossless path avoids
    let src = std::fs::read(inp.join("nomeroff_241458051.jpg")).unwrap();
    let dst = std::fs::read(out.join("nomeroff_241458051.jpg")).unwrap();
    let c = compare(&src, &dst, &rects(e)).unwrap();
    assert!(c.blocks_outside > 0 && c.pixels_outside > 0, "{c:?}");

    std::fs::remove_dir_all(&out).unwrap();
    let (code, report, _) = redact(&inp, &["--method", "person=blur"]);
    assert_eq!(code, 0);
    let e = file_entry(&report, "nomeroff_241458051.jpg");
    assert_eq!(e["encoding"], "reencode");
    assert!(e["fallback"].as_str().unwrap().contains("blur"), "{e}");
}

#[test]
fn a_corrupt_scan_never_passes_as_lossless() {
    // flip bytes in the middle of the entropy-coded data: libjpeg warns; the lossless path
    // must refuse, and the file either falls back (recorded) or fails, never "lossless"
    let src = std::fs::read(shared("plates/nomeroff_241458051.jpg")).unwrap();
    let mut bad = src.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 64] {
        *b = 0xFF;
    }
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    std::fs::write(inp.join("bad.jpg"), &bad).unwrap();
    assert!(jpeg_lossless::rewrite(&bad, &[]).is_err());
    let (_code, report, _) = redact(&inp, &[]);
    let e = file_entry(&report, "bad.jpg");
    assert_ne!(e["encoding"], "lossless", "{e}");
    if e["status"] == "redacted" {
        assert!(
            e["fallback"].as_str().unwrap().contains("lossless path"),
            "{e}"
        );
    }
}
