//! The pipeline for one image and for a batch: walk → decode → tile → detect → merge →
//! redact → encode → report.

use crate::decode::{self, Decoded, Limits};
use crate::detect::{nanodet::NanoDet, ppocr::PpOcrDet, yolo::Yolo, Class, Detection, Detector};
use crate::encode;
use crate::geom::{BoxF, PixBox};
use crate::jpeg_lossless::{self, Edit, EditKind, Grid};
use crate::merge::greedy_nmm;
use crate::models::{self, ModelSpec};
use crate::progress::Progress;
use crate::redact::{self, Method};
use crate::report::{self, FileEntry, ModelEntry, Region, Report};
use crate::tile::tiles;
use crate::walk::{self, Job};
use crate::SetupError;
use image::{DynamicImage, RgbImage};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Everything that decides what gets hidden. Serialised into the report as-is.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Tile edge in px.
    pub tile: u32,
    /// Tile overlap, fraction of the tile edge.
    pub overlap: f32,
    /// Also run each detector once on the whole image, downscaled (for big objects).
    pub whole_image_pass: bool,
    /// On pictures much bigger than a tile, also run tiled passes on copies downscaled by
    /// 4, 16, ... (until one tile would hold the whole copy), so objects between the tile
    /// scale and the whole-image scale are seen at a size the detector knows.
    pub pyramid: bool,
    /// Minimum detector score per class.
    pub thresholds: BTreeMap<Class, f32>,
    /// How each class is hidden.
    pub methods: BTreeMap<Class, Method>,
    /// Margin added on each side of a box, as a fraction of its size (plus `margin_px`).
    pub margin: f32,
    pub margin_px: f32,
    /// Pixelation: blocks across the short side of a box.
    pub blocks: u32,
    /// Boxes of one class overlapping more than this (intersection over the smaller) merge.
    pub merge_ios: f32,
    /// Plate detector: `ppocrv4-det` (default, Apache-2.0), `platedet` (AGPL-3.0) or `none`.
    pub plate_model: String,
    /// Vehicle crops are upscaled up to this factor before plate detection.
    pub plate_upscale: f32,
    pub limits: Limits,
    /// JPEG output: `lossless` rewrites only the DCT blocks under a redaction (boxes widened
    /// to the MCU grid); `reencode` re-encodes the whole picture at the source's quality.
    pub jpeg: JpegMode,
    /// Embedded previews, GPS and metadata stripping.
    pub meta: crate::jpegmeta::MetaOptions,
    #[serde(skip)]
    pub models_dir: PathBuf,
    pub threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tile: 640,
            overlap: 0.2,
            whole_image_pass: true,
            pyramid: true,
            thresholds: BTreeMap::from([(Class::Person, 0.3), (Class::Vehicle, 0.3), (Class::Plate, 0.5), (Class::Face, 0.5)]),
            methods: BTreeMap::from([(Class::Person, Method::Pixelate), (Class::Vehicle, Method::None), (Class::Plate, Method::Fill), (Class::Face, Method::Pixelate)]),
            margin: 0.15,
            margin_px: 2.0,
            blocks: 4,
            merge_ios: 0.5,
            plate_model: models::PPOCR_DET.name.to_string(),
            plate_upscale: 4.0,
            limits: Limits::default(),
            jpeg: JpegMode::Lossless,
            meta: Default::default(),
            models_dir: models::models_dir(None),
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JpegMode {
    Lossless,
    Reencode,
}

impl Config {
    pub fn threshold(&self, c: Class) -> f32 {
        self.thresholds.get(&c).copied().unwrap_or(0.5)
    }
    pub fn method(&self, c: Class) -> Method {
        self.methods.get(&c).copied().unwrap_or(Method::Pixelate)
    }
}

/// The loaded detectors, once per process; every load checks the model's sha256.
pub struct Models {
    pub objects: NanoDet,
    pub plates: Option<Box<dyn Detector>>,
}

impl Models {
    pub fn load(cfg: &Config) -> Result<Models, SetupError> {
        crate::runtime::init()?;
        let n = cfg.threads.max(1);
        let dir = &cfg.models_dir;
        let objects = NanoDet::load(dir, n, cfg.threshold(Class::Person), cfg.threshold(Class::Vehicle))?;
        let plates: Option<Box<dyn Detector>> = match cfg.plate_model.as_str() {
            "none" => None,
            "ppocrv4-det" => Some(Box::new(PpOcrDet::load(dir, n, cfg.threshold(Class::Plate))?)),
            "platedet" => Some(Box::new(Yolo::platedet(dir, n, cfg.threshold(Class::Plate))?)),
            other => return Err(SetupError::Usage(format!("unknown plate model `{other}` (ppocrv4-det, platedet, none)"))),
        };
        Ok(Models { objects, plates })
    }

    pub fn specs(&self) -> Vec<&'static ModelSpec> {
        let mut v = vec![self.objects.spec()];
        if let Some(p) = &self.plates {
            v.push(p.spec());
        }
        v
    }
}

/// A region found in an image, in upright (orientation applied) coordinates.
#[derive(Debug, Clone)]
pub struct Found {
    pub det: Detection,
    pub model: &'static str,
}

/// Where detection reads pixels from: an upright RGB picture, whole in memory or read
/// window by window from a file (huge orthophotos), so detection never needs the full
/// picture at once.
pub trait Raster: Sync {
    /// Upright size.
    fn size(&self) -> (u32, u32);
    /// The pixels of `r` (upright coordinates, inside the picture) as RGB8.
    fn read(&self, r: PixBox) -> anyhow::Result<RgbImage>;
    /// The whole picture downscaled to `w x h` (area filter).
    fn overview(&self, w: u32, h: u32) -> anyhow::Result<RgbImage>;
}

/// A picture held in memory.
pub struct MemRaster<'a>(pub &'a RgbImage);

impl Raster for MemRaster<'_> {
    fn size(&self) -> (u32, u32) {
        self.0.dimensions()
    }
    fn read(&self, r: PixBox) -> anyhow::Result<RgbImage> {
        Ok(image::imageops::crop_imm(self.0, r.x, r.y, r.w, r.h).to_image())
    }
    fn overview(&self, w: u32, h: u32) -> anyhow::Result<RgbImage> {
        Ok(image::imageops::thumbnail(self.0, w, h))
    }
}

/// Detection on one upright RGB image: tiles + whole-image pass → merge → plates in vehicles.
pub fn detect_image(rgb: &RgbImage, cfg: &Config, models: &Models) -> anyhow::Result<Vec<Found>> {
    detect_raster(&MemRaster(rgb), cfg, models)
}

/// Detection on any [`Raster`]: every tile and vehicle crop is read on its own, so memory
/// is bounded by the tiles in flight, whatever the picture's size.
pub fn detect_raster(src: &dyn Raster, cfg: &Config, models: &Models) -> anyhow::Result<Vec<Found>> {
    let (w, h) = src.size();
    let windows = tiles(w, h, cfg.tile, cfg.overlap);
    let whole = cfg.whole_image_pass && windows.len() > 1;
    // (scale factor, window in the downscaled copy); factor 1 is the full resolution
    let mut jobs: Vec<(u32, PixBox)> = windows.into_iter().map(|t| (1, t)).collect();
    // pyramid levels: copies downscaled by 4, 16, ... while a copy still needs several tiles;
    // small ones are made once in memory (from the raster's overview), larger ones are read
    // window by window at full resolution and shrunk
    let mut levels: Vec<(u32, Option<RgbImage>)> = Vec::new();
    if cfg.pyramid {
        let mut f = 4u32;
        while w.max(h) / f > cfg.tile {
            let (lw, lh) = (w.div_ceil(f), h.div_ceil(f));
            let mem = (lw as u64 * lh as u64 <= 32_000_000).then(|| src.overview(lw, lh)).transpose()?;
            jobs.extend(tiles(lw, lh, cfg.tile, cfg.overlap).into_iter().map(|t| (f, t)));
            levels.push((f, mem));
            f = f.saturating_mul(4);
        }
    }
    if whole {
        jobs.push((0, PixBox { x: 0, y: 0, w, h }));
    }
    let per: Vec<anyhow::Result<Vec<Detection>>> = jobs
        .par_iter()
        .map(|&(f, t)| match f {
            1 => {
                let crop = src.read(t)?;
                Ok(models.objects.detect(&crop)?.into_iter().map(|mut d| {
                    d.bbox = d.bbox.translate(t.x as f32, t.y as f32);
                    d
                }).collect())
            }
            0 => {
                // whole image, downscaled to the model input with a fast area filter
                let s = crate::detect::nanodet::SIZE as f32 / w.max(h) as f32;
                let small = src.overview(((w as f32 * s).round() as u32).max(1), ((h as f32 * s).round() as u32).max(1))?;
                let back = w as f32 / small.width() as f32;
                Ok(models.objects.detect(&small)?.into_iter().map(|mut d| {
                    d.bbox = d.bbox.scale(back);
                    d
                }).collect())
            }
            f => {
                let level = levels.iter().find(|l| l.0 == f).and_then(|l| l.1.as_ref());
                let crop = match level {
                    Some(img) => image::imageops::crop_imm(img, t.x, t.y, t.w.min(img.width() - t.x), t.h.min(img.height() - t.y)).to_image(),
                    None => {
                        let full = PixBox { x: t.x * f, y: t.y * f, w: (t.w * f).min(w - t.x * f), h: (t.h * f).min(h - t.y * f) };
                        let big = src.read(full)?;
                        image::imageops::thumbnail(&big, full.w.div_ceil(f).max(1), full.h.div_ceil(f).max(1))
                    }
                };
                // back to full resolution: the crop's own scale (edges may round)
                let (sx, sy) = (f as f32, f as f32);
                Ok(models.objects.detect(&crop)?.into_iter().map(|mut d| {
                    d.bbox = BoxF::new((d.bbox.x1 + t.x as f32) * sx, (d.bbox.y1 + t.y as f32) * sy, ((d.bbox.x2 + t.x as f32) * sx).min(w as f32), ((d.bbox.y2 + t.y as f32) * sy).min(h as f32));
                    d
                }).collect())
            }
        })
        .collect();
    let mut all = Vec::new();
    for r in per {
        all.extend(r?);
    }
    // plates are searched in vehicle boxes before merging: merging by intersection over the
    // smaller box would swallow a small car inside a bigger car's box, and its plate would be
    // searched at the big box's (lower) resolution
    let vehicles = crate::detect::nms(all.iter().filter(|d| d.class == Class::Vehicle).cloned().collect(), 0.5);
    let merged = greedy_nmm(all, cfg.merge_ios);
    let name = models.objects.spec().name;
    let mut found: Vec<Found> = merged.iter().map(|d| Found { det: d.clone(), model: name }).collect();

    if let Some(plates) = &models.plates {
        let per: Vec<anyhow::Result<Vec<Detection>>> = vehicles
            .par_iter()
            .map(|v| {
                let Some(c) = v.bbox.pad(0.1, 4.0).to_pixels(w, h) else { return Ok(vec![]) };
                let crop = src.read(c)?;
                // small vehicles (drone height) are upscaled so a plate would span more pixels
                let up = (640.0 / c.w.max(c.h) as f32).clamp(1.0, cfg.plate_upscale);
                let input = if up > 1.01 {
                    image::imageops::resize(&crop, (c.w as f32 * up).round() as u32, (c.h as f32 * up).round() as u32, image::imageops::FilterType::CatmullRom)
                } else {
                    crop
                };
                let sx = c.w as f32 / input.width() as f32;
                let sy = c.h as f32 / input.height() as f32;
                Ok(plates.detect(&input)?.into_iter().map(|mut d| {
                    d.bbox = BoxF::new(d.bbox.x1 * sx + c.x as f32, d.bbox.y1 * sy + c.y as f32, d.bbox.x2 * sx + c.x as f32, d.bbox.y2 * sy + c.y as f32);
                    d
                }).collect())
            })
            .collect();
        let mut ps = Vec::new();
        for r in per {
            ps.extend(r?);
        }
        let pname = plates.spec().name;
        found.extend(greedy_nmm(ps, cfg.merge_ios).into_iter().map(|d| Found { det: d, model: pname }));
    }
    Ok(found)
}

pub fn orientation_code(o: image::metadata::Orientation) -> u8 {
    use image::metadata::Orientation::*;
    match o {
        NoTransforms => 1,
        FlipHorizontal => 2,
        Rotate180 => 3,
        FlipVertical => 4,
        Rotate90FlipH => 5,
        Rotate90 => 6,
        Rotate270FlipH => 7,
        Rotate270 => 8,
    }
}

/// One region to hide, planned: what the report says, where (stored pixels) and how.
#[derive(Debug, Clone)]
pub struct Planned {
    pub region: Region,
    pub rect: PixBox,
    pub method: Method,
    /// Pixelation block edge in px.
    pub block: u32,
}

/// Plan the redaction of regions found in upright coordinates on a stored picture of
/// `w x h`: margins, clipping, block sizes; in the order they must be applied (pixelation
/// before fill, so where they overlap fill wins). Also returns how many detections were
/// left visible by their method (`none`) and, with a JPEG `grid` (the lossless path), the
/// DCT-domain edits: every box is then widened to the MCU grid and pixelation cells are whole
/// MCUs, so the pixel result matches what the DCT-domain rewrite produces.
pub fn plan_regions(found: &[Found], orientation: image::metadata::Orientation, (w, h): (u32, u32), cfg: &Config, grid: Option<&Grid>) -> (Vec<Planned>, usize, Vec<Edit>) {
    let mut plan = Vec::new();
    let mut edits = Vec::new();
    let mut not_hidden = 0;
    let mut order: Vec<&Found> = found.iter().collect();
    order.sort_by_key(|f| match cfg.method(f.det.class) {
        Method::Fill => 2,
        Method::Pixelate => 1,
        _ => 0,
    });
    for f in order {
        let method = cfg.method(f.det.class);
        if method == Method::None {
            not_hidden += 1;
            continue;
        }
        let stored = decode::box_to_stored(f.det.bbox, orientation, w, h);
        let Some(px) = stored.pad(cfg.margin, cfg.margin_px).to_pixels(w, h) else { continue };
        let mut block = redact::block_size(&px, cfg.blocks);
        let px = match grid {
            Some(g) => {
                let Some(a) = jpeg_lossless::align_to_mcu(px, g) else { continue };
                block = jpeg_lossless::cell_size(block, g);
                edits.push(Edit { rect: a, kind: if method == Method::Fill { EditKind::Fill } else { EditKind::Pixelate { cell: block } } });
                a
            }
            None => px,
        };
        let region = Region {
            class: f.det.class,
            score: (f.det.score * 1000.0).round() / 1000.0,
            bbox: [px.x, px.y, px.w, px.h],
            detected: [round1(stored.x1), round1(stored.y1), round1(stored.w()), round1(stored.h())],
            method,
            block: (method == Method::Pixelate).then_some(block),
            source: format!("model:{}", f.model),
        };
        plan.push(Planned { region, rect: px, method, block });
    }
    (plan, not_hidden, edits)
}

/// The report's regions of a plan, in a stable order.
pub fn regions_of(plan: &[Planned]) -> Vec<Region> {
    let mut regions: Vec<Region> = plan.iter().map(|p| p.region.clone()).collect();
    regions.sort_by(|a, b| (a.class, a.bbox).cmp(&(b.class, b.bbox)));
    regions
}

/// Redact `img` (stored pixels) for regions found in upright coordinates; returns the
/// report's regions, how many detections were left visible by their method (`none`), and
/// the DCT-domain edits for a JPEG `grid` (see [`plan_regions`]).
pub fn redact_regions(img: &mut DynamicImage, found: &[Found], dec_orientation: image::metadata::Orientation, cfg: &Config, grid: Option<&Grid>) -> (Vec<Region>, usize, Vec<Edit>) {
    let (plan, not_hidden, edits) = plan_regions(found, dec_orientation, (img.width(), img.height()), cfg, grid);
    for p in &plan {
        redact::apply_block(img, p.rect, p.method, p.block);
    }
    (regions_of(&plan), not_hidden, edits)
}

fn round1(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

fn rel_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Process one job. Never panics on bad input and never writes an output for a file whose
/// decoding or detection failed.
pub fn process(job: &Job, cfg: &Config, models: &Models) -> FileEntry {
    let t0 = Instant::now();
    let mut e = FileEntry { input: rel_string(&job.rel), status: "failed".into(), ..Default::default() };
    // a panic in a decoder or a model's post-processing is one file's failure, not the batch's
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| process_inner(job, cfg, models, &mut e)))
        .unwrap_or_else(|p| {
            let msg = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default();
            Err(anyhow::anyhow!("internal error while processing this file (please report it): {msg}"))
        });
    if let Err(err) = r {
        e.status = "failed".into();
        e.error = Some(format!("{err:#}"));
        e.output = None;
        e.output_sha256 = None;
        e.output_bytes = None;
        e.regions.clear();
    }
    e.millis = t0.elapsed().as_millis() as u64;
    e
}

fn process_inner(job: &Job, cfg: &Config, models: &Models, e: &mut FileEntry) -> anyhow::Result<()> {
    use anyhow::Context;
    if crate::tiffpath::is_tiff(&job.input)? {
        return crate::tiffpath::process(job, cfg, models, e);
    }
    // std::fs::read opens read-only: an input is never opened for writing
    let bytes = std::fs::read(&job.input).with_context(|| "cannot read the file")?;
    e.input_sha256 = Some(models::sha256_hex(&bytes));
    e.input_bytes = Some(bytes.len() as u64);
    let dec: Decoded = decode::decode(&bytes, &job.input, &cfg.limits)?;
    e.format = Some(dec.format.as_str().into());
    e.width = Some(dec.image.width());
    e.height = Some(dec.image.height());
    e.orientation = Some(orientation_code(dec.orientation));
    let upright = dec.upright_rgb();
    let found = detect_image(&upright, cfg, models).context("detection failed")?;
    drop(upright);
    let mut img = dec.image.clone();
    // the lossless JPEG path, when the file and the methods allow it; else the reason why not
    let grid = match lossless_grid(&dec, &bytes, &found, cfg) {
        Ok(g) => g,
        Err(why) => {
            e.fallback = Some(why);
            None
        }
    };
    let (regions, not_hidden, edits) = redact_regions(&mut img, &found, dec.orientation, cfg, grid.as_ref());
    e.detections_not_hidden = not_hidden;
    let put = |e: &mut FileEntry, enc: encode::Encoded| {
        e.metadata_kept = enc.metadata_kept;
        e.metadata_dropped = enc.metadata_dropped;
        e.metadata_removed = enc.metadata_removed;
        e.metadata_regenerated = enc.metadata_regenerated;
        enc.bytes
    };
    let out_bytes = if regions.is_empty() && !cfg.meta.strips() {
        // nothing to hide: the output is the input, byte for byte
        e.status = "clean".into();
        e.encoding = Some("copy".into());
        e.metadata_kept = dec.metadata.clone();
        bytes
    } else if regions.is_empty() {
        // nothing to hide, but metadata to strip: a JPEG keeps its scans, other formats are
        // re-encoded losslessly
        e.status = "clean".into();
        let enc = match dec.format {
            decode::Format::Jpeg => encode::restrip_jpeg(&dec, &bytes, &cfg.meta),
            _ => encode::encode(&dec.image, &dec, &bytes, &encode::keep_previews(&cfg.meta)),
        }
        .context("rewriting the metadata failed")?;
        e.encoding = Some(if dec.format == decode::Format::Jpeg { "metadata-only" } else { "lossless" }.into());
        put(e, enc)
    } else {
        let mut enc = None;
        if let Some(g) = &grid {
            match encode::encode_jpeg_lossless(&bytes, &edits, &img, &cfg.meta) {
                Ok(x) => {
                    e.mcu = Some([g.mcu_w, g.mcu_h]);
                    enc = Some(x)
                }
                Err(why) => e.fallback = Some(format!("lossless path failed ({why:#}); re-encoded")),
            }
        }
        let enc = match enc {
            Some(x) => x,
            None => encode::encode(&img, &dec, &bytes, &cfg.meta).context("encoding failed")?,
        };
        e.status = "redacted".into();
        e.encoding = Some(if enc.quality.is_some() { "reencode" } else { "lossless" }.into());
        e.blocks_changed = enc.blocks_changed;
        e.jpeg_quality = enc.quality;
        put(e, enc)
    };
    e.regions = regions;
    encode::write_atomic(&job.output, &out_bytes, Some(&job.input))?;
    e.output = Some(rel_string(&job.rel));
    e.output_sha256 = Some(models::sha256_hex(&out_bytes));
    e.output_bytes = Some(out_bytes.len() as u64);
    Ok(())
}

/// The MCU grid for the lossless JPEG path, `Ok(None)` when the path does not apply (not a
/// JPEG, nothing to hide, or `--jpeg reencode`), `Err(reason)` when it applies but cannot be
/// taken (the file is then re-encoded and the reason recorded).
fn lossless_grid(dec: &Decoded, bytes: &[u8], found: &[Found], cfg: &Config) -> Result<Option<Grid>, String> {
    if dec.format != decode::Format::Jpeg || cfg.jpeg != JpegMode::Lossless {
        return Ok(None);
    }
    let methods: Vec<Method> = found.iter().map(|f| cfg.method(f.det.class)).filter(|m| *m != Method::None).collect();
    if methods.is_empty() {
        return Ok(None);
    }
    if methods.contains(&Method::Blur) {
        return Err("blur is not done in the DCT domain; re-encoded".into());
    }
    jpeg_lossless::grid(bytes).map(Some).map_err(|e| format!("lossless path not possible ({e:#}); re-encoded"))
}

/// Options of a batch run that are not detection settings.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub report: Option<PathBuf>,
    pub operator: Option<String>,
    pub command: Vec<String>,
    pub shard: Option<(u32, u32)>,
    pub progress: bool,
}

pub struct Outcome {
    pub report: Report,
    pub report_path: PathBuf,
}

impl Outcome {
    /// 0 when every file was redacted or clean, 1 when any failed.
    pub fn exit_code(&self) -> i32 {
        if self.report.summary.failed > 0 { 1 } else { 0 }
    }
}

/// The operator recorded in the report: the flag, else `$PIXLA_OPERATOR`, else the OS user.
pub fn operator(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("PIXLA_OPERATOR").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// Run a whole batch and write its report.
pub fn run_batch(inputs: &[PathBuf], out: &Path, cfg: &Config, opts: &RunOptions) -> Result<Outcome, SetupError> {
    let started = report::now();
    let t0 = Instant::now();
    let walked = walk::walk(inputs, out, opts.shard)?;
    let report_path = opts.report.clone().unwrap_or_else(|| out.join("pixla-report.json"));
    let rp = walk::resolve(&report_path);
    if inputs.iter().any(|i| rp.starts_with(walk::resolve(i))) {
        return Err(SetupError::Usage(format!("the report {} would be written inside an input", report_path.display())));
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(cfg.threads.max(1)).build().map_err(|e| SetupError::Other(e.to_string()))?;
    let models = pool.install(|| Models::load(cfg))?;
    std::fs::create_dir_all(out).map_err(|e| SetupError::Usage(format!("cannot create the output folder {}: {e}", out.display())))?;

    let progress = Progress::new(walked.jobs.len() as u64, opts.progress);
    let mut files: Vec<FileEntry> = pool.install(|| {
        walked
            .jobs
            .par_iter()
            .map(|job| {
                let e = process(job, cfg, &models);
                progress.done(&e);
                e
            })
            .collect()
    });
    progress.finish();
    for i in &walked.issues {
        files.push(FileEntry { input: rel_string(&i.rel), status: i.status.into(), error: Some(i.reason.clone()), ..Default::default() });
    }
    files.sort_by(|a, b| a.input.cmp(&b.input));
    let ort = crate::runtime::locate().ok();
    let report = Report {
        schema: report::SCHEMA.into(),
        tool: report::Tool {
            name: "pixla".into(),
            version: crate::VERSION.into(),
            onnxruntime: format!("{} ({})", crate::runtime::ORT_VERSION, ort.map(|p| p.display().to_string()).unwrap_or_default()),
        },
        run: report::Run {
            started,
            finished: report::now(),
            operator: operator(opts.operator.as_deref()),
            host: hostname::get().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
            command: opts.command.clone(),
            shard: opts.shard.map(|(i, n)| format!("{}/{}", i + 1, n)),
            threads: cfg.threads,
            seconds: (t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        },
        config: serde_json::to_value(cfg).unwrap_or_default(),
        models: models
            .specs()
            .into_iter()
            .map(|m| ModelEntry { role: m.role.as_str().into(), name: m.name.into(), sha256: m.sha256.into(), licence: m.licence.into(), execution_provider: "cpu".into() })
            .collect(),
        summary: report::Summary::of(&files),
        files,
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| SetupError::Other(e.to_string()))?;
    encode::write_atomic(&report_path, &json, None).map_err(|e| SetupError::Other(format!("cannot write the report: {e:#}")))?;
    Ok(Outcome { report, report_path })
}
