//! The two JPEG output paths side by side: lossless (only the DCT blocks under the regions
//! rewritten) and re-encode (the whole picture at the source's quality).
//!
//! Inputs: the real 9 MP DJI photo `../shared/fixtures/metadata/storyweb_DJI_0002.JPG`
//! (4:2:2, restart markers) and a 20 MP (5472x3648) JPEG made from it here (upscaled,
//! quality 92, the image crate's encoder). The same 16 regions (12 persons 48x96, 4 plates
//! 40x16) are hidden in each.
//!
//! Prints a table of what each path changes (DCT blocks and decoded pixels outside the
//! regions, decoded bytes changed per region, output size), then times the encode stage of
//! each path with criterion. Decoding and detection are the same for both and not timed here
//! (see `stages`).
//!
//! Run: `cargo bench --bench jpeg_paths`

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use pixla::internal_tests::decode::{self, Decoded};
use pixla::internal_tests::detect::{Class, Detection};
use pixla::internal_tests::geom::{BoxF, PixBox};
use pixla::internal_tests::jpeg_lossless;
use pixla::internal_tests::pipeline::{self, Config, Found, FoundBy};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

const DJI: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fixtures/metadata/storyweb_DJI_0002.JPG"
);

fn regions(w: u32, h: u32) -> Vec<Found> {
    let mut v = Vec::new();
    for i in 0..12u32 {
        let (x, y) = (
            (i % 4 + 1) as f32 * w as f32 / 5.0 + 13.0 * i as f32,
            (i / 4 + 1) as f32 * h as f32 / 4.0 - 48.0,
        );
        v.push(Found {
            det: Detection {
                class: Class::Person,
                score: 0.9,
                bbox: BoxF::new(x, y, x + 48.0, y + 96.0),
            },
            by: FoundBy::Model("bench"),
        });
    }
    for i in 0..4u32 {
        let (x, y) = (
            (i + 1) as f32 * w as f32 / 5.0 + 200.0,
            h as f32 * 0.85 + 7.0 * i as f32,
        );
        v.push(Found {
            det: Detection {
                class: Class::Plate,
                score: 0.9,
                bbox: BoxF::new(x, y, x + 40.0, y + 16.0),
            },
            by: FoundBy::Model("bench"),
        });
    }
    v
}

fn make_20mp() -> Vec<u8> {
    let src = image::open(DJI).expect("the DJI fixture");
    let big = src.resize_exact(5472, 3648, image::imageops::FilterType::CatmullRom);
    let mut out = Vec::new();
    big.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
        &mut out, 92,
    ))
    .unwrap();
    out
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    dec: Decoded,
    found: Vec<Found>,
}

fn report(case: &Case, cfg: &Config) {
    let g = jpeg_lossless::grid(&case.bytes).unwrap();
    let mut a = case.dec.image.clone();
    let (ra, _, edits) =
        pipeline::redact_regions(&mut a, &case.found, case.dec.orientation, cfg, Some(&g));
    let lossless = pixla::internal_tests::encode::encode_jpeg_lossless(
        &case.bytes,
        &edits,
        &a,
        &Default::default(),
    )
    .unwrap();
    let mut b = case.dec.image.clone();
    let (rb, _, _) = pipeline::redact_regions(&mut b, &case.found, case.dec.orientation, cfg, None);
    let reenc =
        pixla::internal_tests::encode::encode(&b, &case.dec, &case.bytes, &Default::default())
            .unwrap();
    let rects = |rs: &[pixla::internal_tests::report::Region]| {
        rs.iter()
            .map(|r| PixBox {
                x: r.bbox[0],
                y: r.bbox[1],
                w: r.bbox[2],
                h: r.bbox[3],
            })
            .collect::<Vec<_>>()
    };
    let decoded = |x: &[u8]| jpeg_lossless::decode_rgb_plain(x).unwrap().into_raw();
    let orig = decoded(&case.bytes);
    for (path, out, rs) in [
        ("lossless", &lossless.bytes, &ra),
        ("reencode", &reenc.bytes, &rb),
    ] {
        let c = jpeg_lossless::compare(&case.bytes, out, &rects(rs)).unwrap();
        let new = decoded(out);
        let bytes_changed = orig.iter().zip(&new).filter(|(p, q)| p != q).count();
        let area: u64 = rs.iter().map(|r| r.bbox[2] as u64 * r.bbox[3] as u64).sum();
        eprintln!(
            "{:<9} {:<8} regions {:>2} area {:>6} px | same grid {:<5} blocks changed in {:>6} out {:>7} | pixels changed out {:>9} | decoded bytes changed/region {:>9} | file {:>9} -> {:>9} B",
            case.name,
            path,
            rs.len(),
            area,
            c.same_grid,
            c.blocks_inside,
            c.blocks_outside,
            c.pixels_outside,
            bytes_changed / rs.len().max(1),
            case.bytes.len(),
            out.len()
        );
    }
}

fn jpeg_paths(c: &mut Criterion) {
    let cfg = Config::default();
    let mut cases = Vec::new();
    for (name, bytes) in [
        ("dji-9mp", std::fs::read(DJI).expect("the DJI fixture")),
        ("gen-20mp", make_20mp()),
    ] {
        let dec = decode::decode(&bytes, Path::new("x.jpg"), &cfg.limits).unwrap();
        let found = regions(dec.image.width(), dec.image.height());
        cases.push(Case {
            name,
            bytes,
            dec,
            found,
        });
    }
    for case in &cases {
        report(case, &cfg);
    }
    let mut g = c.benchmark_group("jpeg_paths");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    for case in &cases {
        let grid = jpeg_lossless::grid(&case.bytes).unwrap();
        let mut a = case.dec.image.clone();
        let (_, _, edits) =
            pipeline::redact_regions(&mut a, &case.found, case.dec.orientation, &cfg, Some(&grid));
        let mut b = case.dec.image.clone();
        pipeline::redact_regions(&mut b, &case.found, case.dec.orientation, &cfg, None);
        g.bench_function(format!("{}/lossless", case.name), |bch| {
            bch.iter(|| {
                pixla::internal_tests::encode::encode_jpeg_lossless(
                    black_box(&case.bytes),
                    &edits,
                    &a,
                    &Default::default(),
                )
                .unwrap()
            })
        });
        g.bench_function(format!("{}/reencode", case.name), |bch| {
            bch.iter(|| {
                pixla::internal_tests::encode::encode(
                    black_box(&b),
                    &case.dec,
                    &case.bytes,
                    &Default::default(),
                )
                .unwrap()
            })
        });
        g.bench_function(format!("{}/decode", case.name), |bch| {
            bch.iter(|| {
                decode::decode(black_box(&case.bytes), Path::new("x.jpg"), &cfg.limits).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, jpeg_paths);
criterion_main!(benches);
