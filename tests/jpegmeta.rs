//! Embedded previews, GPS and metadata stripping, with exiftool as the referee: what it
//! reads from an output is what it read from the input, except the tags changed on purpose.
//! Needs `exiftool` (Debian: libimage-exiftool-perl).

use crate::common::*;
use exif::{experimental::Writer, Field, In, Tag, Value as EV};
use image::{DynamicImage, GenericImageView};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const DJI: [&str; 2] = [
    "metadata/macuil_DJI_0001.JPG",
    "metadata/storyweb_DJI_0002.JPG",
];
/// Low thresholds so the real models find (and pixelate) regions in both DJI photos.
const FIND_MANY: [&str; 4] = [
    "--threshold",
    "person=0.05,vehicle=0.05",
    "--method",
    "vehicle=pixelate",
];

fn exiftool(args: &[&str], file: &Path) -> Vec<u8> {
    let o = Command::new("exiftool")
        .args(args)
        .arg(file)
        .output()
        .expect("exiftool is needed for these tests (Debian: libimage-exiftool-perl)");
    o.stdout
}

/// Every tag exiftool reads, `Group1:Tag` → value (binary data as base64).
fn tags(file: &Path) -> Map<String, Value> {
    let v: Value =
        serde_json::from_slice(&exiftool(&["-a", "-G1", "-s", "-n", "-j", "-b"], file)).unwrap();
    let mut m = v[0].as_object().unwrap().clone();
    for k in ["SourceFile", "ExifTool:Warning"] {
        m.remove(k);
    }
    m.retain(|k, _| !k.starts_with("System:") && !k.starts_with("File:"));
    m
}

/// All of exiftool's warnings (the JSON output keeps only one).
fn warnings(file: &Path) -> Vec<String> {
    String::from_utf8(exiftool(&["-a", "-s3", "-Warning"], file))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn extract(file: &Path, tag: &str) -> Option<Vec<u8>> {
    Some(exiftool(&["-b", &format!("-{tag}")], file)).filter(|b| !b.is_empty())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Tags that differ between two dumps (missing on one side counts).
fn changed(a: &Map<String, Value>, b: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Test 1, through the real CLI, both DJI photos: exiftool reads the same tags from the output
/// as from the input, except the previews (their data, lengths and positions); and it
/// warns about nothing new.
#[test]
fn exiftool_sees_only_the_previews_change() {
    let (_d, inp) = input_dir(&DJI);
    let (code, report, out) = redact(&inp, &FIND_MANY);
    assert_eq!(code, 0);
    for f in DJI {
        let name = f.rsplit('/').next().unwrap();
        let e = file_entry(&report, name);
        assert_eq!(e["status"], "redacted", "{name}");
        let (a, b) = (tags(&inp.join(name)), tags(&out.join(name)));
        let diff = changed(&a, &b);
        let allowed = |k: &str| {
            matches!(
                k,
                "IFD1:ThumbnailImage" | "IFD1:ThumbnailLength" | "IFD1:ThumbnailOffset"
            ) || (k.starts_with("MPImage")
                && (k.ends_with(":MPImageLength")
                    || k.ends_with(":MPImageStart")
                    || k.ends_with(":PreviewImage")))
        };
        let bad: Vec<&String> = diff.iter().filter(|k| !allowed(k)).collect();
        assert!(bad.is_empty(), "{name}: unexpected changes {bad:?}");
        for k in [
            "IFD1:ThumbnailImage",
            "MPImage2:PreviewImage",
            "MPImage1:MPImageLength",
        ] {
            assert!(
                diff.iter().any(|d| d == k),
                "{name}: {k} should have changed (diff: {diff:?})"
            );
            assert!(b.contains_key(k), "{name}: {k} missing from the output");
        }
        // the index is consistent: the first image ends where the second starts, the last
        // one ends the file
        let len = |k: &str| b[k].as_u64().unwrap();
        assert_eq!(
            len("MPImage1:MPImageLength"),
            len("MPImage2:MPImageStart"),
            "{name}"
        );
        assert_eq!(
            len("MPImage2:MPImageStart") + len("MPImage2:MPImageLength"),
            std::fs::metadata(out.join(name)).unwrap().len(),
            "{name}"
        );
        assert_eq!(
            warnings(&out.join(name)),
            warnings(&inp.join(name)),
            "{name}: exiftool warnings differ"
        );
        assert!(
            strs(&e["metadata_removed"]).is_empty(),
            "{name}: {}",
            e["metadata_removed"]
        );
        let regen = strs(&e["metadata_regenerated"]);
        assert_eq!(regen.len(), 2, "{name}: {regen:?}");
        assert!(
            regen[0].starts_with("exif-thumbnail ") && regen[1].starts_with("mpf-image 2 ("),
            "{name}: {regen:?}"
        );
        assert_eq!(strs(&e["metadata_kept"]), ["exif", "xmp", "mpf"], "{name}");
    }
}

/// Mean absolute difference over a box (in preview pixels).
fn mad(a: &image::RgbImage, b: &image::RgbImage, r: [u32; 4]) -> f64 {
    let mut s = 0u64;
    let mut n = 0u64;
    for y in r[1]..r[1] + r[3] {
        for x in r[0]..r[0] + r[2] {
            for c in 0..3 {
                s += (a.get_pixel(x, y)[c] as i32 - b.get_pixel(x, y)[c] as i32).unsigned_abs()
                    as u64;
            }
            n += 3;
        }
    }
    s as f64 / n.max(1) as f64
}

/// `full` fitted into `w`×`h` like a camera preview (black bars where the aspect differs);
/// returns the picture and the scale and offset of the fitted image.
fn fit(full: &image::RgbImage, w: u32, h: u32) -> (image::RgbImage, f64, u32, u32) {
    let (sw, sh) = full.dimensions();
    let s = (w as f64 / sw as f64).min(h as f64 / sh as f64);
    let (iw, ih) = (
        ((sw as f64 * s).round() as u32).min(w),
        ((sh as f64 * s).round() as u32).min(h),
    );
    let inner = image::imageops::thumbnail(full, iw, ih);
    let mut c = image::RgbImage::new(w, h);
    let (ox, oy) = ((w - iw) / 2, (h - ih) / 2);
    image::imageops::overlay(&mut c, &inner, ox as i64, oy as i64);
    (c, s, ox, oy)
}

/// Test 2: no preview of the original survives: in the output's EXIF thumbnail and MPF preview,
/// the largest redacted box looks like the redacted image downscaled, not like the original;
/// and the original previews' bytes occur nowhere in the output.
#[test]
fn no_preview_of_the_original_survives() {
    let (_d, inp) = input_dir(&DJI);
    let (code, report, out) = redact(
        &inp,
        &[
            "--threshold",
            "person=0.05,vehicle=0.05",
            "--method",
            "person=fill,vehicle=fill,plate=fill",
        ],
    );
    assert_eq!(code, 0);
    for f in DJI {
        let name = f.rsplit('/').next().unwrap();
        let e = file_entry(&report, name);
        let regions = boxes(e, &["person", "vehicle", "plate"]);
        let big =
            regions.iter().cloned().fold(
                [0.0; 4],
                |a, b| if b[2] * b[3] > a[2] * a[3] { b } else { a },
            );
        assert!(
            big[2] * big[3] > 100_000.0,
            "{name}: no large region to check ({big:?})"
        );
        let original = image::open(inp.join(name)).unwrap().to_rgb8();
        let redacted = image::open(out.join(name)).unwrap().to_rgb8();
        let out_bytes = std::fs::read(out.join(name)).unwrap();
        for tag in ["ThumbnailImage", "PreviewImage"] {
            let old = extract(&inp.join(name), tag).unwrap();
            assert!(
                !contains(&out_bytes, &old[..old.len().min(4096)]),
                "{name}: the original {tag} is still in the output"
            );
            let new = image::load_from_memory(&extract(&out.join(name), tag).unwrap())
                .unwrap()
                .to_rgb8();
            let (w, h) = new.dimensions();
            assert_eq!(
                (w, h),
                image::load_from_memory(&old).unwrap().dimensions(),
                "{name}: {tag} changed size"
            );
            let (from_red, s, ox, oy) = fit(&redacted, w, h);
            let (from_orig, ..) = fit(&original, w, h);
            // the box in preview pixels, shrunk by 15% so edges and JPEG blocks don't count
            let m = |v: f64| (v * s).round() as u32;
            let r = [
                ox + m(big[0] + 0.15 * big[2]),
                oy + m(big[1] + 0.15 * big[3]),
                m(0.7 * big[2]).max(1),
                m(0.7 * big[3]).max(1),
            ];
            let (to_red, to_orig) = (mad(&new, &from_red, r), mad(&new, &from_orig, r));
            eprintln!("{name} {tag} {w}x{h}: box {r:?}: mean |diff| to redacted {to_red:.1}, to original {to_orig:.1}");
            assert!(
                to_red < 12.0,
                "{name} {tag}: preview does not match the redacted image ({to_red:.1})"
            );
            assert!(
                to_orig > 3.0 * to_red.max(2.0),
                "{name} {tag}: preview looks like the original ({to_orig:.1} vs {to_red:.1})"
            );
        }
    }
}

/// 3. `--previews remove`: no thumbnail, no MPF, no new warning; the report lists them.
#[test]
fn previews_remove_leaves_no_preview() {
    let (_d, inp) = input_dir(&DJI);
    let mut args = FIND_MANY.to_vec();
    args.extend(["--previews", "remove"]);
    let (code, report, out) = redact(&inp, &args);
    assert_eq!(code, 0);
    for f in DJI {
        let name = f.rsplit('/').next().unwrap();
        let e = file_entry(&report, name);
        assert_eq!(e["status"], "redacted");
        let (a, b) = (tags(&inp.join(name)), tags(&out.join(name)));
        let leftover: Vec<&String> = b
            .keys()
            .filter(|k| {
                k.starts_with("IFD1:")
                    || k.starts_with("MPF")
                    || k.starts_with("MPImage")
                    || k.contains("Thumbnail")
                    || k.contains("Preview")
            })
            .collect();
        assert!(leftover.is_empty(), "{name}: {leftover:?}");
        // nothing else changed
        let diff = changed(&a, &b);
        assert!(
            diff.iter().all(|k| k.starts_with("IFD1:")
                || k.starts_with("MPF0:")
                || k.starts_with("MPImage")),
            "{name}: {diff:?}"
        );
        assert_eq!(
            warnings(&out.join(name)),
            warnings(&inp.join(name)),
            "{name}"
        );
        let removed = strs(&e["metadata_removed"]);
        assert!(
            removed[0].starts_with("exif-thumbnail ")
                && removed[1] == "mpf index"
                && removed[2].starts_with("mpf-image 2 ("),
            "{name}: {removed:?}"
        );
        assert_eq!(removed.len(), 3, "{name}: {removed:?}");
        assert!(strs(&e["metadata_regenerated"]).is_empty());
        // the file ends with the main image
        let bytes = std::fs::read(out.join(name)).unwrap();
        assert!(bytes.ends_with(&[0xFF, 0xD9]));
        assert_eq!(
            image::open(out.join(name)).unwrap().dimensions(),
            image::open(inp.join(name)).unwrap().dimensions()
        );
    }
}

fn gps_keys(m: &Map<String, Value>) -> Vec<String> {
    m.keys()
        .filter(|k| {
            let l = k.to_ascii_lowercase();
            l.contains("gps")
                || l.contains("latitude")
                || l.contains("longitude")
                || l.contains("longtitude")
                || l.contains("absolutealtitude")
        })
        .cloned()
        .collect()
}

/// A made-up DJI-like JPEG with GPS everywhere: EXIF GPS IFD and IFD1 thumbnail, DJI XMP
/// with `drone-dji:GpsLatitude`/`GpsLongtitude`/`AbsoluteAltitude` and an `exif:GPS…`
/// element, ICC, and an MPF preview that has its own EXIF with GPS.
fn gps_everywhere() -> Vec<u8> {
    let src = image::open(shared("street/deface_city.jpg")).unwrap();
    let enc = |img: &DynamicImage, q: u8| {
        let mut b = Vec::new();
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut b, q,
        ))
        .unwrap();
        assert_eq!(b[2..6], [0xFF, 0xE0, 0, 16]);
        b[20..].to_vec() // without SOI and the encoder's JFIF APP0
    };
    let r = |n: u32, d: u32| exif::Rational { num: n, denom: d };
    let exif_seg = |thumb: Option<&[u8]>| {
        let fields = [
            Field {
                tag: Tag::Make,
                ifd_num: In::PRIMARY,
                value: EV::Ascii(vec![b"DJI".to_vec()]),
            },
            Field {
                tag: Tag::Orientation,
                ifd_num: In::PRIMARY,
                value: EV::Short(vec![1]),
            },
            Field {
                tag: Tag::GPSLatitudeRef,
                ifd_num: In::PRIMARY,
                value: EV::Ascii(vec![b"N".to_vec()]),
            },
            Field {
                tag: Tag::GPSLatitude,
                ifd_num: In::PRIMARY,
                value: EV::Rational(vec![r(59, 1), r(19, 1), r(4512, 100)]),
            },
            Field {
                tag: Tag::GPSLongitudeRef,
                ifd_num: In::PRIMARY,
                value: EV::Ascii(vec![b"E".to_vec()]),
            },
            Field {
                tag: Tag::GPSLongitude,
                ifd_num: In::PRIMARY,
                value: EV::Rational(vec![r(18, 1), r(4, 1), r(1234, 100)]),
            },
            Field {
                tag: Tag::GPSAltitude,
                ifd_num: In::PRIMARY,
                value: EV::Rational(vec![r(6020, 100)]),
            },
            Field {
                tag: Tag::ExposureTime,
                ifd_num: In::PRIMARY,
                value: EV::Rational(vec![r(1, 100)]),
            },
        ];
        let mut w = Writer::new();
        for f in &fields {
            w.push_field(f);
        }
        if let Some(t) = thumb {
            w.set_jpeg(t, In::THUMBNAIL);
        }
        let mut tiff = std::io::Cursor::new(Vec::new());
        w.write(&mut tiff, true).unwrap();
        let mut s = b"Exif\0\0".to_vec();
        s.extend(tiff.into_inner());
        s
    };
    let seg = |m: u8, body: &[u8]| {
        let mut v = vec![0xFF, m];
        v.extend(((body.len() + 2) as u16).to_be_bytes());
        v.extend(body);
        v
    };
    let mut thumb = vec![0xFF, 0xD8];
    thumb.extend(enc(&src.thumbnail(160, 120), 80));
    let xmp = "http://ns.adobe.com/xap/1.0/\0<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"DJI Meta Data\" xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" drone-dji:GpsLatitude=\"59.3179\" drone-dji:GpsLongtitude=\"18.0701\" drone-dji:AbsoluteAltitude=\"+75.10\" drone-dji:RelativeAltitude=\"+60.20\" drone-dji:GimbalPitchDegree=\"-90.00\">\n <exif:GPSLatitude>59,19.0751N</exif:GPSLatitude>\n <exif:ExposureProgram>2</exif:ExposureProgram>\n</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>";
    let icc = std::fs::read(shared("street/deface_city.jpg")).unwrap();
    let icc_at = icc.windows(12).position(|w| w == b"ICC_PROFILE\0").unwrap();
    let icc_len = u16::from_be_bytes([icc[icc_at - 2], icc[icc_at - 1]]) as usize;
    let icc_body = &icc[icc_at..icc_at - 2 + icc_len];
    // the preview: its own EXIF with GPS
    let mut preview = vec![0xFF, 0xD8];
    preview.extend(seg(0xE1, &exif_seg(None)));
    preview.extend(enc(&src.thumbnail(400, 300), 85));
    // the main image, with an MPF index whose sizes and offsets are patched below
    let mut mpf = b"MPF\0II*\0".to_vec();
    mpf.extend(8u32.to_le_bytes());
    mpf.extend(3u16.to_le_bytes());
    for (tag, typ, count, val) in [
        (0xB000u16, 7u16, 4u32, u32::from_le_bytes(*b"0100")),
        (0xB001, 4, 1, 2),
        (0xB002, 7, 32, 50),
    ] {
        mpf.extend(tag.to_le_bytes());
        mpf.extend(typ.to_le_bytes());
        mpf.extend(count.to_le_bytes());
        mpf.extend(val.to_le_bytes());
    }
    mpf.extend(0u32.to_le_bytes());
    assert_eq!(mpf.len(), 4 + 50);
    for (attr, size, off) in [
        (0x2003_0000u32, 0u32, 0u32),
        (0x0001_0001, preview.len() as u32, 0),
    ] {
        mpf.extend(attr.to_le_bytes());
        mpf.extend(size.to_le_bytes());
        mpf.extend(off.to_le_bytes());
        mpf.extend([0u8; 4]);
    }
    let mut main = vec![0xFF, 0xD8];
    main.extend(seg(0xE1, &exif_seg(Some(&thumb))));
    main.extend(seg(0xE1, xmp.as_bytes()));
    main.extend(seg(0xE2, icc_body));
    let mpf_tiff = main.len() + 4 + 4;
    main.extend(seg(0xE2, &mpf));
    main.extend(enc(&src, 90));
    let main_len = main.len() as u32;
    main[mpf_tiff + 50 + 4..mpf_tiff + 50 + 8].copy_from_slice(&main_len.to_le_bytes());
    main[mpf_tiff + 50 + 16 + 8..mpf_tiff + 50 + 16 + 12]
        .copy_from_slice(&(main_len - mpf_tiff as u32).to_le_bytes());
    main.extend(preview);
    main
}

fn write_input(files: &[(&str, Vec<u8>)], fixtures: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let (d, inp) = input_dir(fixtures);
    for (n, b) in files {
        std::fs::write(inp.join(n), b).unwrap();
    }
    (d, inp)
}

/// 4a. `--strip-gps`: no GPS or location tag in any group (EXIF, XMP, the MPF preview's own
/// EXIF), everything else as before, the removals listed; a file with nothing to hide is
/// rewritten too, its scan kept byte for byte and its previews re-rendered.
#[test]
fn strip_gps_removes_every_location_and_nothing_else() {
    let gen = gps_everywhere();
    let (_d, inp) = write_input(&[("DJI_GEN.JPG", gen)], &DJI);
    // default thresholds with NanoDet alone: macuil has nothing to hide, the other two do
    // (pixla-aerial takes the arches of macuil's chapel for people, scores 0.31-0.47; this
    // test is about the metadata paths of a clean and a redacted file)
    let (code, report, out) = redact(&inp, &["--strip-gps", "--detector", "nanodet-m"]);
    assert_eq!(code, 0);
    for name in [
        "DJI_GEN.JPG",
        "macuil_DJI_0001.JPG",
        "storyweb_DJI_0002.JPG",
    ] {
        let e = file_entry(&report, name);
        let (i, o) = (inp.join(name), out.join(name));
        let (a, b) = (tags(&i), tags(&o));
        assert!(!gps_keys(&a).is_empty(), "{name}: the input has GPS tags");
        assert_eq!(gps_keys(&b), Vec::<String>::new(), "{name}: GPS left");
        let diff = changed(&a, &b);
        let gps = gps_keys(&a);
        let preview = |k: &str| k.starts_with("IFD1:Thumbnail") || k.starts_with("MPImage");
        let bad: Vec<&String> = diff
            .iter()
            .filter(|k| !gps.contains(k) && !preview(k) && *k != "IFD0:GPSInfo")
            .collect();
        assert!(bad.is_empty(), "{name}: changed besides GPS: {bad:?}");
        assert_eq!(warnings(&o), warnings(&i), "{name}");
        let removed = strs(&e["metadata_removed"]);
        assert!(
            removed.iter().any(|r| r.starts_with("gps (exif GPS IFD, ")),
            "{name}: {removed:?}"
        );
        // the MPF preview's own EXIF
        let prev = extract(&o, "PreviewImage").unwrap();
        let p = out.join("preview.jpg");
        std::fs::write(&p, &prev).unwrap();
        assert_eq!(
            gps_keys(&tags(&p)),
            Vec::<String>::new(),
            "{name}: GPS in the MPF preview"
        );
        if name == "DJI_GEN.JPG" {
            assert!(
                tags(&p).contains_key("IFD0:Make"),
                "the preview's EXIF is kept, less GPS"
            );
            for r in [
                "xmp drone-dji:GpsLatitude",
                "xmp drone-dji:GpsLongtitude",
                "xmp drone-dji:AbsoluteAltitude",
                "xmp exif:GPSLatitude",
                "mpf-image 2 (400x282): gps (exif GPS IFD, 5 tags)",
            ] {
                assert!(
                    removed.iter().any(|x| x == r),
                    "{name}: {r} not listed in {removed:?}"
                );
            }
            assert_eq!(
                b["XMP-drone-dji:RelativeAltitude"],
                a["XMP-drone-dji:RelativeAltitude"]
            );
            let raw = std::fs::read(&o).unwrap();
            for needle in [&b"59.3179"[..], b"18.0701", b"59,19.0751N"] {
                assert!(
                    !contains(&raw, needle),
                    "{name}: {} left in the bytes",
                    String::from_utf8_lossy(needle)
                );
            }
        }
        if name == "macuil_DJI_0001.JPG" {
            assert_eq!(e["status"], "clean");
            assert_eq!(e["encoding"], "metadata-only");
            // nothing hidden, but its previews were never examined (they could show another
            // picture): re-rendered from the examined pixels, as for a redacted image
            let regenerated = strs(&e["metadata_regenerated"]);
            assert!(
                regenerated.iter().any(|r| r.starts_with("exif-thumbnail"))
                    && regenerated.contains(&"mpf-image 2 (960x720)".to_string()),
                "{regenerated:?}"
            );
            for t in ["ThumbnailImage", "PreviewImage"] {
                assert!(
                    extract(&o, t).is_some_and(|p| Some(p) != extract(&i, t)),
                    "{name}: {t} not re-rendered"
                );
            }
            // the scan is the input's, byte for byte
            let (ib, ob) = (std::fs::read(&i).unwrap(), std::fs::read(&o).unwrap());
            // the first scan's start, walking the marker segments (a thumbnail inside APP1 has
            // its own SOS)
            let sos = |b: &[u8]| {
                let mut i = 2;
                while b[i + 1] != 0xDA {
                    i += 2 + u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
                }
                i
            };
            let main_len = b["MPImage1:MPImageLength"].as_u64().unwrap() as usize;
            let in_len = a["MPImage1:MPImageLength"].as_u64().unwrap() as usize;
            assert!(
                ob[sos(&ob)..main_len] == ib[sos(&ib)..in_len],
                "{name}: the scan changed"
            );
        }
    }
}

/// 4b. `--strip-metadata`: only the ICC profile and the Orientation are left.
#[test]
fn strip_metadata_keeps_only_icc_and_orientation() {
    let gen = gps_everywhere();
    let (_d, inp) = write_input(&[("DJI_GEN.JPG", gen)], &DJI[..1]);
    let (code, report, out) = redact(&inp, &["--strip-metadata"]);
    assert_eq!(code, 0);
    for name in ["DJI_GEN.JPG", "macuil_DJI_0001.JPG"] {
        let (i, o) = (inp.join(name), out.join(name));
        let (a, b) = (tags(&i), tags(&o));
        let left: Vec<&String> = b
            .keys()
            .filter(|k| {
                !k.starts_with("Composite:")
                    && !k.starts_with("ExifTool:")
                    && !k.starts_with("ICC")
                    && *k != "IFD0:Orientation"
            })
            .collect();
        assert!(left.is_empty(), "{name}: {left:?}");
        assert_eq!(b["IFD0:Orientation"], a["IFD0:Orientation"], "{name}");
        for (k, v) in a.iter().filter(|(k, _)| k.starts_with("ICC")) {
            assert_eq!(b.get(k), Some(v), "{name}: {k}");
        }
        assert!(warnings(&o).is_empty(), "{name}: {:?}", warnings(&o));
        let e = file_entry(&report, name);
        let removed = strs(&e["metadata_removed"]);
        for r in ["exif (all tags but Orientation)", "xmp", "mpf index"] {
            assert!(
                removed.iter().any(|x| x == r),
                "{name}: {r} not in {removed:?}"
            );
        }
        assert!(std::fs::read(&o).unwrap().ends_with(&[0xFF, 0xD9]));
    }
    assert!(
        tags(&out.join("DJI_GEN.JPG"))
            .keys()
            .any(|k| k.starts_with("ICC")),
        "the ICC profile is kept"
    );
}

/// The library call on its own, for the lead's lossless path: `main` = the source itself
/// (metadata-only), timed on the 9 MP DJI photo.
#[test]
fn assemble_with_the_source_as_main_is_metadata_only() {
    let src = std::fs::read(shared("metadata/storyweb_DJI_0002.JPG")).unwrap();
    let img = image::load_from_memory(&src).unwrap();
    let opts = pixla::internal_tests::jpegmeta::MetaOptions {
        strip_gps: true,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let (out, ch) = pixla::internal_tests::jpegmeta::assemble(&src, &src, &img, &opts).unwrap();
    eprintln!(
        "assemble (9 MP, strip-gps, previews regenerated): {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(
        ch.regenerated,
        ["exif-thumbnail 160x120", "mpf-image 2 (960x540)"]
    );
    assert_eq!(
        ch.removed,
        [
            "gps (exif GPS IFD, 7 tags)",
            "xmp drone-dji:AbsoluteAltitude"
        ]
    );
    let e = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(&out))
        .unwrap();
    assert!(e.fields().all(|f| !f.tag.to_string().starts_with("GPS")));
    assert!(e.get_field(Tag::Model, In::PRIMARY).is_some());
    // the same pixels
    assert_eq!(
        image::load_from_memory(&out).unwrap().to_rgb8().as_raw(),
        img.to_rgb8().as_raw()
    );
}

/// The flags hold for PNG too: an eXIf chunk loses its GPS IFD, an XMP iTXt its location
/// properties, with `--strip-gps`; only colour chunks and the Orientation stay with
/// `--strip-metadata`. The pixels are unchanged (the image has nothing to hide).
#[test]
fn png_metadata_is_stripped_too() {
    use img_parts::{
        png::{Png, PngChunk},
        Bytes,
    };
    let src = image::open(shared("street/deface_city.jpg"))
        .unwrap()
        .thumbnail(200, 200)
        .to_rgb8();
    let mut raw = Vec::new();
    src.write_to(&mut std::io::Cursor::new(&mut raw), image::ImageFormat::Png)
        .unwrap();
    let r = |n: u32, d: u32| exif::Rational { num: n, denom: d };
    let fields = [
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: EV::Short(vec![1]),
        },
        Field {
            tag: Tag::Software,
            ifd_num: In::PRIMARY,
            value: EV::Ascii(vec![b"test".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: EV::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: EV::Rational(vec![r(59, 1), r(19, 1), r(4512, 100)]),
        },
    ];
    let mut w = Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    w.write(&mut tiff, false).unwrap();
    let mut itxt = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    itxt.extend(b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" drone-dji:GpsLatitude=\"59.3179\" drone-dji:FlightYawDegree=\"+12.30\"/></rdf:RDF></x:xmpmeta>");
    let mut png = Png::from_bytes(Bytes::from(raw)).unwrap();
    png.chunks_mut()
        .insert(1, PngChunk::new(*b"eXIf", Bytes::from(tiff.into_inner())));
    png.chunks_mut()
        .insert(2, PngChunk::new(*b"iTXt", Bytes::from(itxt)));
    png.chunks_mut().insert(
        3,
        PngChunk::new(*b"tEXt", Bytes::from_static(b"Comment\0hello")),
    );
    let mut bytes = Vec::new();
    png.encoder().write_to(&mut bytes).unwrap();
    for (flag, check) in [("--strip-gps", 0), ("--strip-metadata", 1)] {
        let (_d, inp) = write_input(&[("gen.png", bytes.clone())], &[]);
        // nothing hidden, so the image counts as clean and only the metadata changes
        let (code, report, out) = redact(
            &inp,
            &[flag, "--method", "person=none,plate=none,face=none"],
        );
        assert_eq!(code, 0);
        let e = file_entry(&report, "gen.png");
        assert_eq!(e["status"], "clean", "{flag}");
        let (a, b) = (tags(&inp.join("gen.png")), tags(&out.join("gen.png")));
        assert!(!gps_keys(&a).is_empty());
        assert_eq!(gps_keys(&b), Vec::<String>::new(), "{flag}");
        assert!(
            warnings(&out.join("gen.png")).is_empty(),
            "{flag}: {:?}",
            warnings(&out.join("gen.png"))
        );
        let removed = strs(&e["metadata_removed"]);
        if check == 0 {
            assert_eq!(
                removed,
                ["gps (exif GPS IFD, 2 tags)", "xmp drone-dji:GpsLatitude"],
                "{flag}"
            );
            for k in [
                "IFD0:Software",
                "XMP-drone-dji:FlightYawDegree",
                "PNG:Comment",
            ] {
                assert_eq!(a.get(k), b.get(k), "{flag}: {k}");
                assert!(b.contains_key(k), "{flag}: {k} lost");
            }
        } else {
            let left: Vec<&String> = b
                .keys()
                .filter(|k| {
                    !k.starts_with("PNG:")
                        && !k.starts_with("Composite:")
                        && !k.starts_with("ExifTool:")
                        && *k != "IFD0:Orientation"
                })
                .collect();
            assert!(left.is_empty(), "{flag}: {left:?}");
            assert!(!b.contains_key("PNG:Comment"));
        }
        assert_eq!(
            image::open(out.join("gen.png")).unwrap().to_rgb8().as_raw(),
            src.as_raw(),
            "{flag}: pixels changed"
        );
    }
}
