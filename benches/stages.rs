//! Per-stage timings of the redaction pipeline on one real aerial photo.
//!
//! Fixture: `../shared/fixtures/annotations/sahi_terrain1.jpg` (2048x1365 JPEG, 7 walkers).
//! Models: `pixla::internal_tests::models::models_dir(None)`, i.e. `$PIXLA_MODELS_DIR` or `~/.cache/pixla/models`.
//!
//! Everything runs on ONE core: `cfg.threads = 1` (one ONNX Runtime session per model, one
//! intra-op thread) and detection runs inside a 1-thread rayon pool, so the numbers are per
//! core. A batch scales them across files, one core per worker.
//!
//! Run: `cargo bench --bench stages` (add `PIXLA_MODELS_DIR=...` to use another models folder).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};
use image::RgbImage;
use pixla::internal_tests::decode::{self, Decoded};
use pixla::internal_tests::pipeline::{self, Config, Found, Models};
use pixla::SetupError;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fixtures/annotations/sahi_terrain1.jpg"
);

/// Side of the square NanoDet tile benchmarked alone (the default `--tile`).
const TILE: u32 = 640;
/// Size of the crop given to the plate detector alone (a multiple of 32: no resize inside).
const CROP: (u32, u32) = (320, 160);

fn load_models(cfg: &Config) -> Models {
    let fix = "run `cargo run --release -- models fetch` (or set PIXLA_MODELS_DIR to a folder that has them)";
    match Models::load(cfg) {
        Ok(m) => m,
        Err(e @ (SetupError::ModelMissing { .. } | SetupError::ModelHash { .. })) => {
            panic!(
                "stages bench: models not set up in {}: {e}\n  fix: {fix}",
                cfg.models_dir.display()
            )
        }
        Err(e @ SetupError::OrtMissing { .. }) => panic!("stages bench: {e}\n  fix: {fix}"),
        Err(e) => panic!(
            "stages bench: cannot load the models from {}: {e}",
            cfg.models_dir.display()
        ),
    }
}

/// The upright RGB image detection runs on, exactly as `pipeline::process` makes it.
fn upright(dec: &Decoded) -> RgbImage {
    dec.upright_rgb()
}

/// Top-left corner of a `w x h` window centred on (cx, cy), kept inside the image.
fn window_at(img: &RgbImage, cx: f32, cy: f32, w: u32, h: u32) -> (u32, u32) {
    let x = (cx - w as f32 / 2.0)
        .round()
        .clamp(0.0, (img.width() - w) as f32) as u32;
    let y = (cy - h as f32 / 2.0)
        .round()
        .clamp(0.0, (img.height() - h) as f32) as u32;
    (x, y)
}

fn stages(c: &mut Criterion) {
    let path = Path::new(FIXTURE);
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "stages bench: cannot read the fixture {}: {e}",
            path.display()
        )
    });

    let cfg = Config {
        threads: 1,
        models_dir: pixla::internal_tests::models::models_dir(None),
        ..Config::default()
    };
    // detect_image parallelises with rayon: run it in a 1-thread pool, as run_batch does with
    // --threads 1, so that tile_detect is per core too
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("1-thread rayon pool");
    let models = pool.install(|| load_models(&cfg));
    let plates = models
        .plates
        .as_ref()
        .expect("the default config has a plate model (ppocrv4-det)");

    let dec = decode::decode(&bytes, path, &cfg.limits).expect("decode the fixture");
    let rgb = upright(&dec);
    let found: Vec<Found> = pool
        .install(|| pipeline::detect_image(&rgb, &cfg, &models))
        .expect("detect on the fixture");
    let tiles =
        pixla::internal_tests::tile::tiles(rgb.width(), rgb.height(), cfg.tile, cfg.overlap);
    eprintln!(
        "stages: {} {}x{}, {} tiles of {} + whole-image pass, {} regions found ({} person), models from {}",
        path.file_name().unwrap().to_string_lossy(),
        rgb.width(),
        rgb.height(),
        tiles.len(),
        cfg.tile,
        found.len(),
        found.iter().filter(|f| f.det.class == pixla::internal_tests::detect::Class::Person).count(),
        cfg.models_dir.display()
    );

    // one tile / one crop centred on the first detection (the image centre if none), so the
    // detectors see real content
    let (cx, cy) = found
        .first()
        .map(|f| {
            (
                (f.det.bbox.x1 + f.det.bbox.x2) / 2.0,
                (f.det.bbox.y1 + f.det.bbox.y2) / 2.0,
            )
        })
        .unwrap_or((rgb.width() as f32 / 2.0, rgb.height() as f32 / 2.0));
    let (tx, ty) = window_at(&rgb, cx, cy, TILE, TILE);
    let tile = image::imageops::crop_imm(&rgb, tx, ty, TILE, TILE).to_image();
    let (px, py) = window_at(&rgb, cx, cy, CROP.0, CROP.1);
    let crop = image::imageops::crop_imm(&rgb, px, py, CROP.0, CROP.1).to_image();

    let mut redacted = dec.image.clone();
    let (regions, _, _) =
        pipeline::redact_regions(&mut redacted, &found, dec.orientation, &cfg, None);
    assert!(
        !regions.is_empty(),
        "stages bench: nothing to redact in the fixture, encode would not run in the pipeline"
    );

    let mut g = c.benchmark_group("stages");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    g.bench_function("decode", |b| {
        b.iter(|| decode::decode(black_box(&bytes), path, &cfg.limits).unwrap())
    });

    // 12 tiles + 1 whole-image pass (+ plate crops in vehicles): ~0.75 s an iteration on one
    // core, so flat sampling and a little more time for 10 samples
    g.sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(9));
    g.bench_function("tile_detect", |b| {
        b.iter(|| pool.install(|| pipeline::detect_image(black_box(&rgb), &cfg, &models).unwrap()))
    });
    g.sampling_mode(SamplingMode::Auto)
        .measurement_time(Duration::from_secs(5));

    g.bench_function("detect_one_tile_nanodet", |b| {
        b.iter(|| pool.install(|| models.objects.detect(black_box(&tile)).unwrap()))
    });
    // the part of a tile that is pixla's own: resize to the model input and fill the tensor
    g.bench_function("preprocess_one_tile", |b| {
        b.iter(|| {
            let (small, _) = pixla::internal_tests::detect::fit(
                black_box(&tile),
                pixla::internal_tests::detect::nanodet::SIZE,
                pixla::internal_tests::detect::nanodet::SIZE,
            );
            pixla::internal_tests::detect::nanodet::NanoDet::input_tensor(&small)
        })
    });
    // merging the raw detections of every tile and the whole-image pass
    let raw: Vec<pixla::internal_tests::detect::Detection> = pool.install(|| {
        tiles
            .iter()
            .flat_map(|t| {
                let crop = image::imageops::crop_imm(&rgb, t.x, t.y, t.w, t.h).to_image();
                models
                    .objects
                    .detect(&crop)
                    .unwrap()
                    .into_iter()
                    .map(move |mut d| {
                        d.bbox = d.bbox.translate(t.x as f32, t.y as f32);
                        d
                    })
            })
            .collect()
    });
    g.bench_function("merge", |b| {
        b.iter_batched(
            || raw.clone(),
            |r| pixla::internal_tests::merge::greedy_nmm(black_box(r), cfg.merge_ios),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("detect_one_crop_ppocr", |b| {
        b.iter(|| pool.install(|| plates.detect(black_box(&crop)).unwrap()))
    });

    g.bench_function("redact", |b| {
        b.iter_batched_ref(
            || dec.image.clone(),
            |img| pipeline::redact_regions(img, black_box(&found), dec.orientation, &cfg, None),
            BatchSize::LargeInput,
        )
    });

    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("encode", |b| {
        b.iter(|| {
            pixla::internal_tests::encode::encode(
                black_box(&redacted),
                &dec,
                &bytes,
                &Default::default(),
            )
            .unwrap()
        })
    });
    // the default JPEG path: only the DCT blocks under the regions are rewritten
    let grid = pixla::internal_tests::jpeg_lossless::grid(&bytes).expect("the fixture's MCU grid");
    let mut aligned = dec.image.clone();
    let (_, _, edits) =
        pipeline::redact_regions(&mut aligned, &found, dec.orientation, &cfg, Some(&grid));
    g.bench_function("encode_lossless", |b| {
        b.iter(|| {
            pixla::internal_tests::encode::encode_jpeg_lossless(
                black_box(&bytes),
                &edits,
                &aligned,
                &Default::default(),
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
