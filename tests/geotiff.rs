//! GeoTIFF end to end through `pixla redact`: georeferencing and every GDAL-visible tag
//! survive (gdalinfo is the referee), internal overviews are redacted too, pixels outside the
//! regions are untouched, and a multi-page TIFF is refused rather than half-examined.
//! Needs gdal-bin (gdal_translate, gdaladdo, gdalinfo); `.ci/run` installs it.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// gdalinfo's JSON with everything about the file itself (names, paths) removed.
fn georef(p: &Path) -> Value {
    // no .aux.xml side files: the referee must not write next to the inputs
    let o = Command::new("gdalinfo")
        .env("GDAL_PAM_ENABLED", "NO")
        .args(["-json", "-mdd", "all"])
        .arg(p)
        .output()
        .unwrap();
    assert!(o.status.success());
    let mut v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = v.as_object_mut().unwrap();
    for k in ["description", "files"] {
        m.remove(k);
    }
    // the derived-subdataset domain names the file itself
    if let Some(md) = m.get_mut("metadata").and_then(|x| x.as_object_mut()) {
        md.remove("DERIVED_SUBDATASETS");
    }
    v
}

/// Decode overview `level` (0 = full resolution) of a TIFF to RGB8 with GDAL.
fn rgb_level(p: &Path, level: Option<u32>, tmp: &Path) -> image::RgbImage {
    let out = tmp.join(format!(
        "lvl-{}-{}.png",
        level.map(|l| l as i64).unwrap_or(-1),
        p.parent().unwrap().file_name().unwrap().to_string_lossy()
    ));
    let mut args: Vec<String> = vec![
        "-q".into(),
        "-of".into(),
        "PNG".into(),
        "-b".into(),
        "1".into(),
        "-b".into(),
        "2".into(),
        "-b".into(),
        "3".into(),
    ];
    if let Some(l) = level {
        args.extend(["-oo".into(), format!("OVERVIEW_LEVEL={l}")]);
    }
    args.push(p.to_string_lossy().into());
    args.push(out.to_string_lossy().into());
    gdal(
        "gdal_translate",
        &args.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    );
    image::open(&out).unwrap().to_rgb8()
}

fn make_geotiff(dir: &Path, name: &str, co: &[&str]) -> PathBuf {
    let p = dir.join(name);
    let src = shared("street/deface_city.jpg");
    let mut args = vec![
        "-q",
        "-of",
        "GTiff",
        "-a_srs",
        "EPSG:3006",
        "-a_ullr",
        "500000",
        "6400000",
        "500080",
        "6399943.6",
        "-a_nodata",
        "0",
        "-mo",
        "SURVEY=pixla-test",
    ];
    for c in co {
        args.extend(["-co", c]);
    }
    let (s, d) = (
        src.to_string_lossy().into_owned(),
        p.to_string_lossy().into_owned(),
    );
    args.extend([s.as_str(), d.as_str()]);
    gdal("gdal_translate", &args);
    p
}

#[test]
fn geotiff_keeps_georeferencing_and_redacts_every_overview() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    let tiled = make_geotiff(
        &inp,
        "tiled.tif",
        &[
            "TILED=YES",
            "BLOCKXSIZE=128",
            "BLOCKYSIZE=128",
            "COMPRESS=LZW",
            "PREDICTOR=2",
        ],
    );
    gdal("gdaladdo", &["-q", &tiled.to_string_lossy(), "2", "4"]);
    let strips = make_geotiff(
        &inp,
        "strips-bigtiff.tif",
        &["COMPRESS=DEFLATE", "BIGTIFF=YES"],
    );
    let (code, report, out) = redact(&inp, &[]);
    assert_eq!(code, 0, "{report}");
    for (src, levels) in [
        (&tiled, vec![None, Some(0), Some(1)]),
        (&strips, vec![None]),
    ] {
        let name = src.file_name().unwrap().to_str().unwrap();
        let e = file_entry(&report, name);
        assert_eq!(e["status"], "redacted", "{e}");
        assert_eq!(e["encoding"], "lossless", "{e}");
        let dst = out.join(name);
        assert_eq!(georef(src), georef(&dst), "{name}: gdalinfo differs");
        let regions = boxes(e, &["person", "plate"]);
        assert!(regions.len() >= 3);
        let (fw, fh) = (e["width"].as_f64().unwrap(), e["height"].as_f64().unwrap());
        for level in levels {
            let (a, b) = (
                rgb_level(src, level, d.path()),
                rgb_level(&dst, level, d.path()),
            );
            assert_eq!(a.dimensions(), b.dimensions());
            let (sx, sy) = (a.width() as f64 / fw, a.height() as f64 / fh);
            // boxes scaled to this level, rounded outwards by a pixel
            let scaled: Vec<[f64; 4]> = regions
                .iter()
                .map(|r| {
                    [
                        (r[0] * sx).floor() - 1.0,
                        (r[1] * sy).floor() - 1.0,
                        r[2] * sx + 3.0,
                        r[3] * sy + 3.0,
                    ]
                })
                .collect();
            let mut inside_changed = 0;
            for (x, y, p) in a.enumerate_pixels() {
                let changed = p != b.get_pixel(x, y);
                if in_any(&scaled, x, y) {
                    inside_changed += changed as u32;
                } else {
                    assert!(
                        !changed,
                        "{name} level {level:?}: pixel {x},{y} changed outside the regions"
                    );
                }
            }
            let area: f64 = regions.iter().map(|r| r[2] * sx * r[3] * sy).sum();
            assert!(
                inside_changed as f64 > 0.3 * area.min((a.width() * a.height()) as f64),
                "{name} level {level:?}: only {inside_changed} pixels hidden"
            );
        }
    }
}

#[test]
fn multi_page_tiff_is_refused_not_half_examined() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    // two full-resolution pages: GDAL's GTiff driver makes them as subdatasets via APPEND_SUBDATASET
    let p = make_geotiff(&inp, "pages.tif", &["COMPRESS=LZW"]);
    let src = shared("street/deface_city.jpg");
    gdal(
        "gdal_translate",
        &[
            "-q",
            "-of",
            "GTiff",
            "-co",
            "APPEND_SUBDATASET=YES",
            &src.to_string_lossy(),
            &p.to_string_lossy(),
        ],
    );
    let (code, report, out) = redact(&inp, &[]);
    assert_eq!(code, 1);
    let e = file_entry(&report, "pages.tif");
    assert_eq!(e["status"], "failed");
    assert!(e["error"].as_str().unwrap().contains("multi-page"), "{e}");
    assert_eq!(e["error_kind"], "unsupported", "{e}");
    assert!(!out.join("pages.tif").exists());
}
