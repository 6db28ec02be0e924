//! The pipeline for one image and for a batch: walk → decode → tile → detect → merge →
//! redact → encode → report.

use crate::decode::{self, Decoded, Limits};
use crate::detect::{
    aerial, nanodet::NanoDet, ppocr::PpOcrDet, yolo::Yolo, Class, Detection, Detector,
};
use crate::encode;
use crate::geom::{BoxF, PixBox};
use crate::jpeg_lossless::{self, Edit, EditKind, Grid};
use crate::merge::{greedy_nmm, greedy_nmm_tagged};
use crate::models::{self, ModelSpec};
use crate::progress::Progress;
use crate::redact::{self, Method};
use crate::report::{self, FileEntry, ModelEntry, Region, Report, Suppressed};
use crate::stats::{self, Stage};
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
    /// The built-in person and vehicle detectors (unless `model` replaces them).
    pub detector: ObjectModels,
    /// Plate detector: `pixla-plate` (default, pixla's own), `ppocrv4-det` (Apache-2.0),
    /// `platedet` (AGPL-3.0) or `none`.
    pub plate_model: String,
    /// Vehicle crops are upscaled up to this factor before plate detection.
    pub plate_upscale: f32,
    /// A vehicle large enough for a readable plate on which none is found gets its plate
    /// band filled ([`plate_band`]).
    pub plate_bands: bool,
    pub limits: Limits,
    /// JPEG output: `lossless` rewrites only the DCT blocks under a redaction (boxes widened
    /// to the MCU grid); `reencode` re-encodes the whole picture at the source's quality.
    pub jpeg: JpegMode,
    /// Embedded previews, GPS and metadata stripping.
    pub meta: crate::jpegmeta::MetaOptions,
    /// A user-supplied detector replacing NanoDet (`--model`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<UserModel>,
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
            thresholds: BTreeMap::from([
                (Class::Person, 0.3),
                (Class::Vehicle, 0.3),
                (Class::Plate, 0.5),
                (Class::Face, 0.5),
            ]),
            methods: BTreeMap::from([
                (Class::Person, Method::Pixelate),
                (Class::Vehicle, Method::None),
                (Class::Plate, Method::Fill),
                (Class::Face, Method::Pixelate),
            ]),
            margin: 0.15,
            margin_px: 2.0,
            blocks: 4,
            merge_ios: 0.5,
            detector: ObjectModels::Aerial,
            plate_model: models::PIXLA_PLATE.name.to_string(),
            plate_upscale: 4.0,
            plate_bands: true,
            limits: Limits::default(),
            jpeg: JpegMode::Lossless,
            meta: Default::default(),
            model: None,
            models_dir: models::models_dir(None),
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }
}

/// Which built-in detectors look for persons and vehicles, on which passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ObjectModels {
    /// `pixla-aerial` on every full-resolution tile (people 6-60 px), and `nanodet-m` on
    /// the downscaled whole-image and pyramid passes and on pictures of one tile (large and
    /// near people, street views); `pixla-aerial` also runs on the pyramid levels.
    #[serde(rename = "pixla-aerial")]
    Aerial,
    /// `nanodet-m` alone on every pass (pixla before it had its own model).
    #[serde(rename = "nanodet-m")]
    NanoDet,
}

impl ObjectModels {
    pub const NAMES: [&'static str; 2] = ["pixla-aerial", "nanodet-m"];
    pub fn parse(s: &str) -> Option<ObjectModels> {
        match s {
            "pixla-aerial" => Some(ObjectModels::Aerial),
            "nanodet-m" => Some(ObjectModels::NanoDet),
            _ => None,
        }
    }
}

/// A detector the user brings (`--model path.onnx --model-format F --classes person=0,...`).
#[derive(Debug, Clone, Serialize)]
pub struct UserModel {
    /// The ONNX file (the report records only its name and sha256).
    #[serde(skip)]
    pub path: PathBuf,
    pub file: String,
    /// `auto`, `yolov8`, `yolo11`, `rtdetr` or `yolov10`.
    pub format: String,
    /// (name as given, model class index, pixla class).
    pub classes: Vec<(String, usize, Class)>,
    /// Input size when the model does not state one.
    pub size: Option<u32>,
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

/// The person and vehicle detectors: the tile model and, beside it, the overview model.
type ObjectDetectors = (Box<dyn Detector>, Option<Box<dyn Detector>>);

/// The loaded detectors, once per process; every load checks the model's sha256.
pub struct Models {
    /// Persons and vehicles on full-resolution tiles (and the pyramid levels).
    pub objects: Box<dyn Detector>,
    /// Persons and vehicles on the downscaled passes, when another model than `objects`
    /// does them (NanoDet beside pixla-aerial).
    pub overview: Option<Box<dyn Detector>>,
    pub plates: Option<Box<dyn Detector>>,
}

impl Models {
    pub fn load(cfg: &Config) -> Result<Models, SetupError> {
        crate::runtime::init()?;
        let n = cfg.threads.max(1);
        let dir = &cfg.models_dir;
        // the two models load side by side
        let (pt, vt) = (cfg.threshold(Class::Person), cfg.threshold(Class::Vehicle));
        let (objects, plates) = rayon::join(
            || -> Result<ObjectDetectors, SetupError> {
                Ok(match (&cfg.model, cfg.detector) {
                    (Some(m), _) => (
                        Box::new(Yolo::user(
                            &m.path,
                            &m.format,
                            &m.classes,
                            m.size,
                            Class::ALL.iter().map(|c| (*c, cfg.threshold(*c))).collect(),
                            n,
                        )?),
                        None,
                    ),
                    (None, ObjectModels::Aerial) => (
                        Box::new(aerial::load(dir, n, pt, vt)?),
                        Some(Box::new(NanoDet::load(dir, n, pt, vt)?)),
                    ),
                    (None, ObjectModels::NanoDet) => {
                        (Box::new(NanoDet::load(dir, n, pt, vt)?), None)
                    }
                })
            },
            || -> Result<Option<Box<dyn Detector>>, SetupError> {
                Ok(match cfg.plate_model.as_str() {
                    "none" => None,
                    // loaded at half the threshold: its weaker candidates stand in for a
                    // plate band where no plate reaches the threshold (add_plate_bands)
                    "pixla-plate" => Some(Box::new(crate::detect::plate::load(
                        dir,
                        n,
                        WEAK_PLATE * cfg.threshold(Class::Plate),
                    )?)),
                    "ppocrv4-det" => Some(Box::new(PpOcrDet::load(
                        dir,
                        n,
                        cfg.threshold(Class::Plate),
                    )?)),
                    "platedet" => Some(Box::new(Yolo::platedet(
                        dir,
                        n,
                        cfg.threshold(Class::Plate),
                    )?)),
                    other => {
                        return Err(SetupError::Usage(format!(
                        "unknown plate model `{other}` (pixla-plate, ppocrv4-det, platedet, none)"
                    )))
                    }
                })
            },
        );
        let (objects, overview) = objects?;
        Ok(Models {
            objects,
            overview,
            plates: plates?,
        })
    }

    /// The detector of the downscaled passes.
    pub fn overview(&self) -> &dyn Detector {
        self.overview.as_deref().unwrap_or(self.objects.as_ref())
    }

    pub fn specs(&self) -> Vec<&'static ModelSpec> {
        let mut v = vec![self.objects.spec()];
        if let Some(o) = &self.overview {
            v.push(o.spec());
        }
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
        Ok(crate::detect::shrink(self.0, w, h))
    }
}

/// Read `r` shrunk so that its longer side is at most `max_side` (as is when it already is),
/// in bands of rows, so that memory stays bounded by one band however big `r` is.
pub fn read_fit(src: &dyn Raster, r: PixBox, max_side: u32) -> anyhow::Result<RgbImage> {
    let long = r.w.max(r.h);
    if long <= max_side {
        return src.read(r);
    }
    let (tw, th) = (
        ((r.w as u64 * max_side as u64) / long as u64).max(1) as u32,
        ((r.h as u64 * max_side as u64) / long as u64).max(1) as u32,
    );
    let mut out = RgbImage::new(tw, th);
    // bands of about 16 MP
    let band = ((16_000_000 / r.w.max(1) as u64) as u32).clamp(1, r.h);
    let mut y = 0;
    while y < r.h {
        let y1 = (y + band).min(r.h);
        let (t0, t1) = (
            (y as u64 * th as u64 / r.h as u64) as u32,
            (y1 as u64 * th as u64 / r.h as u64) as u32,
        );
        if t1 > t0 {
            let rows = src.read(PixBox {
                x: r.x,
                y: r.y + y,
                w: r.w,
                h: y1 - y,
            })?;
            let small = image::imageops::thumbnail(&rows, tw, t1 - t0);
            image::imageops::replace(&mut out, &small, 0, t0 as i64);
        }
        y = y1;
    }
    Ok(out)
}

/// Detection on one upright RGB image: tiles + whole-image pass → merge → plates in vehicles.
pub fn detect_image(rgb: &RgbImage, cfg: &Config, models: &Models) -> anyhow::Result<Vec<Found>> {
    detect_raster(&MemRaster(rgb), cfg, models)
}

/// Detection on any [`Raster`]: every tile and vehicle crop is read on its own, so memory
/// is bounded by the tiles in flight, whatever the picture's size.
pub fn detect_raster(
    src: &dyn Raster,
    cfg: &Config,
    models: &Models,
) -> anyhow::Result<Vec<Found>> {
    let (w, h) = src.size();
    let windows = tiles(w, h, cfg.tile, cfg.overlap);
    let whole = cfg.whole_image_pass && windows.len() > 1;
    // which detectors run on a job: the tile model, the overview model (NanoDet beside
    // pixla-aerial), or both
    let tile_model: Vec<&dyn Detector> = vec![models.objects.as_ref()];
    let both: Vec<&dyn Detector> = std::iter::once(models.objects.as_ref())
        .chain(models.overview.as_deref())
        .collect();
    let overview: Vec<&dyn Detector> = vec![models.overview()];
    // the overview model (NanoDet) sees every picture at a scale it knows: on the tiles of a
    // picture too small for a pyramid level (long side up to 4 tiles), on the pyramid levels
    // and the whole-image pass of bigger ones
    let full = if w.max(h) / 4 <= cfg.tile || !cfg.pyramid {
        &both
    } else {
        &tile_model
    };
    // (scale factor, window in the downscaled copy, detectors); factor 1 is the full
    // resolution, factor 0 the whole-image pass
    let mut jobs: Vec<(u32, PixBox, &Vec<&dyn Detector>)> =
        windows.into_iter().map(|t| (1, t, full)).collect();
    // pyramid levels: copies downscaled by 4, 16, ... while a copy still needs several tiles;
    // small ones are made once in memory (from the raster's overview), larger ones are read
    // window by window at full resolution and shrunk
    let mut levels: Vec<(u32, Option<RgbImage>)> = Vec::new();
    if cfg.pyramid {
        let mut f = 4u32;
        while w.max(h) / f > cfg.tile {
            let (lw, lh) = (w.div_ceil(f), h.div_ceil(f));
            let mem = (lw as u64 * lh as u64 <= 32_000_000)
                .then(|| src.overview(lw, lh))
                .transpose()?;
            jobs.extend(
                tiles(lw, lh, cfg.tile, cfg.overlap)
                    .into_iter()
                    .map(|t| (f, t, &both)),
            );
            levels.push((f, mem));
            f = f.saturating_mul(4);
        }
    }
    if whole {
        jobs.push((0, PixBox { x: 0, y: 0, w, h }, &overview));
    }
    let per: Vec<anyhow::Result<Vec<(Detection, &'static str)>>> = jobs
        .par_iter()
        .map(|&(f, t, detectors)| {
            // the pixels of the job, and the map from them back to full resolution
            let (img, back): (RgbImage, Box<dyn Fn(BoxF) -> BoxF + Sync>) = match f {
                1 => (
                    stats::time(Stage::Preprocess, || src.read(t))?,
                    Box::new(move |b: BoxF| b.translate(t.x as f32, t.y as f32)),
                ),
                0 => {
                    // whole image, downscaled to the model input with a fast area filter
                    let s = models.overview().input_side() as f32 / w.max(h) as f32;
                    let small = src.overview(
                        ((w as f32 * s).round() as u32).max(1),
                        ((h as f32 * s).round() as u32).max(1),
                    )?;
                    let k = w as f32 / small.width() as f32;
                    (small, Box::new(move |b: BoxF| b.scale(k)))
                }
                f => {
                    let level = levels.iter().find(|l| l.0 == f).and_then(|l| l.1.as_ref());
                    let crop = match level {
                        Some(img) => image::imageops::crop_imm(
                            img,
                            t.x,
                            t.y,
                            t.w.min(img.width() - t.x),
                            t.h.min(img.height() - t.y),
                        )
                        .to_image(),
                        None => {
                            let full = PixBox {
                                x: t.x * f,
                                y: t.y * f,
                                w: (t.w * f).min(w - t.x * f),
                                h: (t.h * f).min(h - t.y * f),
                            };
                            read_fit(src, full, full.w.max(full.h).div_ceil(f).max(1))?
                        }
                    };
                    // back to full resolution: the crop's own scale (edges may round)
                    let s = f as f32;
                    (
                        crop,
                        Box::new(move |b: BoxF| {
                            BoxF::new(
                                (b.x1 + t.x as f32) * s,
                                (b.y1 + t.y as f32) * s,
                                ((b.x2 + t.x as f32) * s).min(w as f32),
                                ((b.y2 + t.y as f32) * s).min(h as f32),
                            )
                        }),
                    )
                }
            };
            let mut out = Vec::new();
            for d in detectors {
                let name = d.spec().name;
                out.extend(d.detect(&img)?.into_iter().map(|mut det| {
                    det.bbox = back(det.bbox);
                    (det, name)
                }));
            }
            Ok(out)
        })
        .collect();
    let mut all = Vec::new();
    for r in per {
        all.extend(r?);
    }
    // plates are searched in vehicle boxes before merging: merging by intersection over the
    // smaller box would swallow a small car inside a bigger car's box, and its plate would be
    // searched at the big box's (lower) resolution
    let vehicles = crate::detect::nms(
        all.iter()
            .filter(|d| d.0.class == Class::Vehicle)
            .map(|d| d.0.clone())
            .collect(),
        0.5,
    );
    let mut found: Vec<Found> = greedy_nmm_tagged(all, cfg.merge_ios)
        .into_iter()
        .map(|(det, model)| Found { det, model })
        .collect();

    if let Some(plates) = &models.plates {
        let per: Vec<anyhow::Result<Vec<Found>>> = vehicles
            .par_iter()
            .map(|v| plates_in_vehicle(src, plates.as_ref(), v, cfg))
            .collect();
        let thr = cfg.threshold(Class::Plate);
        let (mut ps, mut weak) = (Vec::new(), Vec::new());
        for r in per {
            for f in r? {
                if f.det.score >= thr {
                    ps.push(f.det);
                } else {
                    weak.push(f.det);
                }
            }
        }
        let pname = plates.spec().name;
        found.extend(greedy_nmm(ps, cfg.merge_ios).into_iter().map(|d| Found {
            det: d,
            model: pname,
        }));
        if cfg.plate_bands {
            add_plate_bands(&mut found, &weak, pname);
        }
    }
    Ok(found)
}

/// The plates of one vehicle: the plate detector on the vehicle's crop (padded by 10 %,
/// rescaled as the detector asks), in image coordinates, keeping only boxes with a plate's
/// shape for that vehicle ([`plausible_plate`]).
fn plates_in_vehicle(
    src: &dyn Raster,
    plates: &dyn Detector,
    v: &Detection,
    cfg: &Config,
) -> anyhow::Result<Vec<Found>> {
    let (w, h) = src.size();
    let Some(c) = v.bbox.pad(0.1, 4.0).to_pixels(w, h) else {
        return Ok(vec![]);
    };
    let scale = plates.crop_scale(c.w.max(c.h), cfg.plate_upscale);
    let (tw, th) = (
        ((c.w as f32 * scale).round() as u32).max(1),
        ((c.h as f32 * scale).round() as u32).max(1),
    );
    // a huge vehicle (a gigapixel close-up) is read shrunk in bands: a full-resolution crop
    // could be gigabytes; a small one is upscaled with a cubic filter
    let crop = read_fit(src, c, tw.max(th).max(1).min(c.w.max(c.h)))?;
    let input = if crop.dimensions() != (tw, th) {
        crate::detect::resize_cubic(&crop, tw, th)
    } else {
        crop
    };
    let sx = c.w as f32 / input.width() as f32;
    let sy = c.h as f32 / input.height() as f32;
    let found: Vec<Found> = plates
        .detect(&input)?
        .into_iter()
        .map(|mut d| {
            d.bbox = BoxF::new(
                d.bbox.x1 * sx + c.x as f32,
                d.bbox.y1 * sy + c.y as f32,
                d.bbox.x2 * sx + c.x as f32,
                d.bbox.y2 * sy + c.y as f32,
            );
            d
        })
        .filter(|d| plausible_plate(&d.bbox, &v.bbox))
        .map(|det| Found {
            det,
            model: plates.spec().name,
        })
        .collect();
    Ok(found)
}

/// pixla-plate's candidates from this share of the plate threshold up are kept as weak
/// plates, for [`add_plate_bands`].
pub const WEAK_PLATE: f32 = 0.5;

/// The fail-closed answer where the plate detector found no plate at the threshold: each
/// vehicle (as merged) large enough for a readable plate that holds no plate region, and is
/// not a part of a vehicle box that holds one, gets its strongest weak plate candidate
/// (`weak`: scored between [`WEAK_PLATE`] × the threshold and the threshold, inside the
/// vehicle) filled, tagged `model` with its own score; where there is none, its plate band
/// ([`plate_band`]), tagged [`PLATE_BAND`]. Never the whole vehicle.
pub fn add_plate_bands(found: &mut Vec<Found>, weak: &[Detection], model: &'static str) {
    let plates: Vec<BoxF> = found
        .iter()
        .filter(|f| f.det.class == Class::Plate)
        .map(|f| f.det.bbox)
        .collect();
    let vehicles: Vec<BoxF> = found
        .iter()
        .filter(|f| f.det.class == Class::Vehicle)
        .map(|f| f.det.bbox)
        .collect();
    let holds_plate = |v: &BoxF| plates.iter().any(|p| v.ios(p) >= 0.5);
    // a box mostly inside a vehicle box that holds a plate is a part of that vehicle (tiles
    // cut a close-up car into pieces)
    let part_of_plated = |v: &BoxF| {
        vehicles
            .iter()
            .any(|o| o != v && holds_plate(o) && v.intersection(o) >= 0.7 * v.area())
    };
    let mut extra: Vec<Found> = Vec::new();
    for v in vehicles
        .iter()
        .filter(|v| !holds_plate(v) && !part_of_plated(v))
    {
        let Some(band) = plate_band(v) else { continue };
        let best = weak
            .iter()
            .filter(|d| v.ios(&d.bbox) >= 0.5)
            .max_by(|a, b| a.score.total_cmp(&b.score));
        let f = match best {
            Some(d) => Found {
                det: d.clone(),
                model,
            },
            None => band,
        };
        if !extra.iter().any(|e| e.det.bbox == f.det.bbox) {
            extra.push(f);
        }
    }
    found.extend(extra);
}

/// The `model` tag of a plate band; the report's `source` is `fallback:plate-band`.
pub const PLATE_BAND: &str = "plate-band";
/// A vehicle this wide (px, in the picture) or wider would show a readable plate: its plate
/// would be about a fifth of that, 24 px or more, the width at which the shared fixtures'
/// plates can be read.
pub const BAND_MIN_VEHICLE_WIDTH: f32 = 120.0;

/// The fail-closed fill for a vehicle large enough for a readable plate on which no plate
/// was found: the band where a plate facing the camera sits, the lower part of the box
/// (from 62 % to 94 % of its height) across its middle (from 20 % to 80 % of its width).
/// That is 19 % of the vehicle box, 33 % with pixla's margin: never the whole vehicle. A
/// camera looking down and forward sees the near end of a car, front or rear, at the
/// bottom of its box. Smaller vehicles get none.
pub fn plate_band(vehicle: &BoxF) -> Option<Found> {
    let (w, h) = (vehicle.w(), vehicle.h());
    (w >= BAND_MIN_VEHICLE_WIDTH).then(|| Found {
        det: Detection {
            class: Class::Plate,
            score: 0.0,
            bbox: BoxF::new(
                vehicle.x1 + 0.2 * w,
                vehicle.y1 + 0.62 * h,
                vehicle.x1 + 0.8 * w,
                vehicle.y1 + 0.94 * h,
            ),
        },
        model: PLATE_BAND,
    })
}

impl Found {
    /// The report's `source` of this region: `model:<name>`, or `fallback:plate-band`.
    pub fn source(&self) -> String {
        if self.model == PLATE_BAND {
            format!("fallback:{PLATE_BAND}")
        } else {
            format!("model:{}", self.model)
        }
    }
}

/// Whether a plate box found in a vehicle's crop has a plate's shape for that vehicle. A text
/// detector answers "is there text here", and on a low-detail aerial vehicle it returns the
/// whole front or the whole vehicle; such a box is not a plate. Measured on the labelled
/// plates of the shared fixtures, inside the smallest vehicle box holding them: width
/// 0.18-0.30 of the vehicle's, height 0.07-0.28, area at most 0.083 of the vehicle's, and
/// always wider than tall (width / height 1.2-4.7). The limits leave room around those:
/// width at most 0.45, height at most 0.35 of the vehicle's, area at most 0.12, and width at
/// least 0.9 × height. A box reaching outside the vehicle's padded crop is clipped to the
/// vehicle before the comparison.
pub fn plausible_plate(plate: &BoxF, vehicle: &BoxF) -> bool {
    let p = BoxF::new(
        plate.x1.max(vehicle.x1),
        plate.y1.max(vehicle.y1),
        plate.x2.min(vehicle.x2),
        plate.y2.min(vehicle.y2),
    );
    let (pw, ph) = (p.x2 - p.x1, p.y2 - p.y1);
    let (vw, vh) = (vehicle.x2 - vehicle.x1, vehicle.y2 - vehicle.y1);
    if pw <= 0.0 || ph <= 0.0 || vw <= 0.0 || vh <= 0.0 {
        // outside the vehicle altogether: judged by its own shape only
        let (w, h) = (plate.x2 - plate.x1, plate.y2 - plate.y1);
        return w >= PLATE_MIN_ASPECT * h && w <= PLATE_MAX_WIDTH * vw;
    }
    pw <= PLATE_MAX_WIDTH * vw
        && ph <= PLATE_MAX_HEIGHT * vh
        && pw * ph <= PLATE_MAX_AREA * vw * vh
        && pw >= PLATE_MIN_ASPECT * ph
}

/// Limits of [`plausible_plate`], as fractions of the vehicle box.
pub const PLATE_MAX_WIDTH: f32 = 0.45;
pub const PLATE_MAX_HEIGHT: f32 = 0.35;
pub const PLATE_MAX_AREA: f32 = 0.12;
/// A plate is at least this much wider than tall.
pub const PLATE_MIN_ASPECT: f32 = 0.9;

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

/// Redact `img` (stored pixels) for regions found in upright coordinates; returns the
/// report's regions and how many detections were left visible by their method (`none`).
///
/// With a JPEG `grid` (the lossless path) the boxes are first widened to the MCU grid and
/// pixelation cells made whole MCUs ([`align_regions`]), and the DCT-domain edits that do the
/// same to the file are returned too.
pub fn redact_regions(
    img: &mut DynamicImage,
    found: &[Found],
    dec_orientation: image::metadata::Orientation,
    cfg: &Config,
    grid: Option<&Grid>,
) -> (Vec<Region>, usize, Vec<Edit>) {
    let (mut regions, not_hidden) =
        plan_regions(img.width(), img.height(), found, dec_orientation, cfg);
    let mut edits = vec![];
    if let Some(g) = grid {
        regions = align_regions(regions, g);
        edits = dct_edits(&regions, g).unwrap_or_default();
    }
    apply_regions(img, &regions, cfg);
    (regions, not_hidden, edits)
}

/// The lossless JPEG path: every region's box widened outwards to the MCU grid, and its
/// pixelation block rounded up to whole MCUs, so that the pixel redaction and the
/// DCT-domain rewrite ([`dct_edits`]) give the same picture. The report records the
/// widened boxes. Idempotent.
pub fn align_regions(regions: Vec<Region>, g: &Grid) -> Vec<Region> {
    let mut out: Vec<Region> = regions
        .into_iter()
        .filter_map(|mut r| {
            let px = PixBox {
                x: r.bbox[0],
                y: r.bbox[1],
                w: r.bbox[2],
                h: r.bbox[3],
            };
            let a = jpeg_lossless::align_to_mcu(px, g)?;
            r.bbox = [a.x, a.y, a.w, a.h];
            if r.method == Method::Pixelate {
                r.block = Some(jpeg_lossless::cell_size(r.block.unwrap_or(8), g));
            }
            Some(r)
        })
        .collect();
    out.sort_by(|a, b| (a.class, a.bbox, &a.source).cmp(&(b.class, b.bbox, &b.source)));
    out
}

/// The DCT-domain edits for aligned regions, in the order they must be applied (fill after
/// pixelation); `Err` when a region's method cannot be done in the DCT domain (blur).
pub fn dct_edits(regions: &[Region], g: &Grid) -> Result<Vec<Edit>, String> {
    let mut edits = Vec::new();
    for r in regions.iter().filter(|r| r.method == Method::Pixelate) {
        edits.push(Edit {
            rect: PixBox {
                x: r.bbox[0],
                y: r.bbox[1],
                w: r.bbox[2],
                h: r.bbox[3],
            },
            kind: EditKind::Pixelate {
                cell: r.block.unwrap_or_else(|| jpeg_lossless::cell_size(8, g)),
            },
        });
    }
    for r in regions.iter().filter(|r| r.method == Method::Fill) {
        edits.push(Edit {
            rect: PixBox {
                x: r.bbox[0],
                y: r.bbox[1],
                w: r.bbox[2],
                h: r.bbox[3],
            },
            kind: EditKind::Fill,
        });
    }
    if regions.iter().any(|r| r.method == Method::Blur) {
        return Err("blur is not done in the DCT domain; re-encoded".into());
    }
    Ok(edits)
}

/// The regions to hide for `found` (upright coordinates) in a `w`×`h` stored image: each
/// box mapped to stored pixels, padded by the margin and clipped; and how many detections
/// are left visible by their method (`none`).
pub fn plan_regions(
    w: u32,
    h: u32,
    found: &[Found],
    dec_orientation: image::metadata::Orientation,
    cfg: &Config,
) -> (Vec<Region>, usize) {
    let mut regions = Vec::new();
    let mut not_hidden = 0;
    for f in found {
        let method = cfg.method(f.det.class);
        if method == Method::None {
            not_hidden += 1;
            continue;
        }
        let stored = decode::box_to_stored(f.det.bbox, dec_orientation, w, h);
        // a weak plate (below the threshold, standing in for a plate band) is less sure of
        // its box: twice the margin
        let weak = f.model != PLATE_BAND && f.det.score < cfg.threshold(f.det.class);
        let margin = if weak { 2.0 * cfg.margin } else { cfg.margin };
        let Some(px) = stored.pad(margin, cfg.margin_px).to_pixels(w, h) else {
            continue;
        };
        regions.push(Region {
            class: f.det.class,
            score: Some((f.det.score * 1000.0).round() / 1000.0),
            bbox: [px.x, px.y, px.w, px.h],
            detected: [
                round1(stored.x1),
                round1(stored.y1),
                round1(stored.w()),
                round1(stored.h()),
            ],
            method,
            block: (method == Method::Pixelate).then(|| redact::block_size(&px, cfg.blocks)),
            source: f.source(),
            note: None,
        });
    }
    regions.sort_by_key(|a| (a.class, a.bbox));
    (regions, not_hidden)
}

/// Hide `regions` in `img`. Where regions overlap, fill wins: it is applied after
/// pixelation, which is applied after blur.
pub fn apply_regions(img: &mut DynamicImage, regions: &[Region], cfg: &Config) {
    let mut order: Vec<&Region> = regions.iter().collect();
    order.sort_by_key(|r| match r.method {
        Method::Fill => 2,
        Method::Pixelate => 1,
        _ => 0,
    });
    for r in order {
        let px = PixBox {
            x: r.bbox[0],
            y: r.bbox[1],
            w: r.bbox[2],
            h: r.bbox[3],
        };
        redact::apply_block(
            img,
            px,
            r.method,
            r.block
                .unwrap_or_else(|| redact::block_size(&px, cfg.blocks)),
        );
    }
}

/// A reviewer's corrections to one file, as `redact --regions` applies them: the sidecar's
/// and those of earlier reviews recorded in the report (so a second review round never
/// undoes the first).
#[derive(Debug, Clone, Default)]
pub struct Edits {
    /// Regions to hide as drawn, in stored pixels, with their source (`manual:<reviewer>`).
    pub add: Vec<ManualRegion>,
    /// Regions of earlier reviews, hidden again unless a suppress box now matches them.
    pub earlier: Vec<ManualRegion>,
    /// Hidden boxes of regions to leave visible, each with `manual:<reviewer>`.
    pub suppress: Vec<([u32; 4], String)>,
    /// Manual regions an earlier review dropped: kept in the `suppressed` list as history.
    pub history: Vec<Suppressed>,
}

impl Edits {
    /// The corrections recorded in a report entry by earlier reviews.
    pub fn earlier(e: &FileEntry) -> Edits {
        let mut ed = Edits::default();
        for r in e.regions.iter().filter(|r| r.source.starts_with("manual:")) {
            ed.earlier.push(ManualRegion {
                class: r.class,
                bbox: r.bbox,
                method: Some(r.method),
                note: r.note.clone(),
                source: r.source.clone(),
            });
        }
        for s in &e.suppressed {
            if s.region.source.starts_with("manual:") {
                ed.history.push(s.clone());
            } else {
                ed.suppress.push((s.region.bbox, s.suppressed_by.clone()));
            }
        }
        ed
    }
}

#[derive(Debug, Clone)]
pub struct ManualRegion {
    pub class: Class,
    pub bbox: [u32; 4],
    pub method: Option<Method>,
    pub note: Option<String>,
    pub source: String,
}

impl ManualRegion {
    fn to_region(&self, w: u32, h: u32, cfg: &Config) -> anyhow::Result<Region> {
        let [x, y, bw, bh] = self.bbox;
        let b = BoxF::new(
            x as f32,
            y as f32,
            x as f32 + bw as f32,
            y as f32 + bh as f32,
        );
        let px = b.to_pixels(w, h).ok_or_else(|| {
            anyhow::anyhow!(
                "manual box {:?} lies outside the image ({w}x{h} stored pixels)",
                self.bbox
            )
        })?;
        let method = match self.method.unwrap_or(cfg.method(self.class)) {
            Method::None => Method::Pixelate,
            m => m,
        };
        Ok(Region {
            class: self.class,
            score: None,
            bbox: [px.x, px.y, px.w, px.h],
            detected: [px.x as f32, px.y as f32, px.w as f32, px.h as f32],
            method,
            block: (method == Method::Pixelate).then(|| redact::block_size(&px, cfg.blocks)),
            source: self.source.clone(),
            note: self.note.clone(),
        })
    }
}

fn pix_iou(a: &[u32; 4], b: &[u32; 4]) -> f32 {
    let f = |r: &[u32; 4]| {
        BoxF::new(
            r[0] as f32,
            r[1] as f32,
            r[0] as f32 + r[2] as f32,
            r[1] as f32 + r[3] as f32,
        )
    };
    f(a).iou(&f(b))
}

/// Apply `edits` to the planned model regions: every suppress box must match a model region
/// or an earlier manual one (IoU >= [`crate::sidecar::SUPPRESS_IOU`]), which is then left
/// visible and listed; earlier and new manual regions are added. An edit that cannot be
/// carried out exactly is an error for the file (fail closed).
pub fn edit_regions(
    model: Vec<Region>,
    edits: &Edits,
    w: u32,
    h: u32,
    cfg: &Config,
) -> anyhow::Result<(Vec<Region>, Vec<Suppressed>)> {
    let mut candidates: Vec<Region> = model;
    for m in &edits.earlier {
        candidates.push(m.to_region(w, h, cfg)?);
    }
    let mut suppressed = Vec::new();
    let mut gone = vec![false; candidates.len()];
    for (b, by) in &edits.suppress {
        let mut hit = false;
        for (i, r) in candidates.iter().enumerate() {
            if pix_iou(&r.bbox, b) >= crate::sidecar::SUPPRESS_IOU {
                hit = true;
                if !gone[i] {
                    gone[i] = true;
                    suppressed.push(Suppressed {
                        region: r.clone(),
                        suppressed_by: by.clone(),
                    });
                }
            }
        }
        if !hit {
            anyhow::bail!(
                "suppress box {b:?} matches no region of this run (IoU >= {}): the sidecar was made with other settings or for another file; nothing was changed",
                crate::sidecar::SUPPRESS_IOU
            );
        }
    }
    suppressed.extend(edits.history.iter().cloned());
    let mut regions: Vec<Region> = candidates
        .into_iter()
        .zip(gone)
        .filter(|(_, g)| !g)
        .map(|(r, _)| r)
        .collect();
    for m in &edits.add {
        regions.push(m.to_region(w, h, cfg)?);
    }
    regions.sort_by(|a, b| (a.class, a.bbox, &a.source).cmp(&(b.class, b.bbox, &b.source)));
    Ok((regions, suppressed))
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
    process_with(job, cfg, models, None)
}

/// [`process`], with a reviewer's corrections applied after detection.
pub fn process_with(job: &Job, cfg: &Config, models: &Models, edits: Option<&Edits>) -> FileEntry {
    let t0 = Instant::now();
    let mut e = FileEntry {
        input: rel_string(&job.rel),
        status: "failed".into(),
        ..Default::default()
    };
    // a panic in a decoder or a model's post-processing is one file's failure, not the batch's
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        process_inner(job, cfg, models, edits, &mut e)
    }))
    .unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(anyhow::anyhow!(
            "internal error while processing this file (please report it): {msg}"
        ))
    });
    if let Err(err) = r {
        e.status = "failed".into();
        e.error = Some(format!("{err:#}"));
        e.output = None;
        e.output_sha256 = None;
        e.output_bytes = None;
        e.regions.clear();
        e.suppressed.clear();
    }
    e.millis = t0.elapsed().as_millis() as u64;
    e
}

fn process_inner(
    job: &Job,
    cfg: &Config,
    models: &Models,
    edits: Option<&Edits>,
    e: &mut FileEntry,
) -> anyhow::Result<()> {
    use anyhow::Context;
    // the output can only land inside OUT: no link on the way (every write path, a review's
    // re-run included, comes through here)
    job.check_output().map_err(anyhow::Error::msg)?;
    // a FIFO or device put in place after the walk is never opened (it could block)
    if !std::fs::metadata(&job.input)
        .with_context(|| "cannot read the file")?
        .is_file()
    {
        anyhow::bail!("not a regular file (a FIFO, socket, device or folder): not read");
    }
    if crate::tiffpath::is_tiff(&job.input)? {
        return crate::tiffpath::process(job, cfg, models, edits, e);
    }
    let t_stage = Instant::now();
    // std::fs::read opens read-only: an input is never opened for writing
    let bytes = std::fs::read(&job.input).with_context(|| "cannot read the file")?;
    e.input_sha256 = Some(models::sha256_hex(&bytes));
    e.input_bytes = Some(bytes.len() as u64);
    let mut dec: Decoded = decode::decode(&bytes, &job.input, &cfg.limits)?;
    e.format = Some(dec.format.as_str().into());
    e.width = Some(dec.image.width());
    e.height = Some(dec.image.height());
    e.orientation = Some(orientation_code(dec.orientation));
    let upright = dec.upright();
    stats::add(Stage::Decode, t_stage.elapsed().as_nanos() as u64);
    let found = detect_image(&upright, cfg, models).context("detection failed")?;
    drop(upright);
    let t_stage = Instant::now();
    let (w, h) = (dec.image.width(), dec.image.height());
    // the lossless JPEG path, when the file and the methods allow it; else the reason why not
    let grid = match lossless_grid(&dec, &bytes, &found, cfg) {
        Ok(g) => g,
        Err(why) => {
            e.fallback = Some(why);
            None
        }
    };
    let (mut regions, not_hidden) = plan_regions(w, h, &found, dec.orientation, cfg);
    if let Some(g) = &grid {
        // aligned before a review's suppress boxes are matched: they come from a report
        // whose boxes were aligned the same way
        regions = align_regions(regions, g);
    }
    if let Some(ed) = edits {
        let (r, s) = edit_regions(regions, ed, w, h, cfg)?;
        regions = r;
        e.suppressed = s;
    }
    let dct = match &grid {
        Some(g) => {
            regions = align_regions(regions, g);
            dct_edits(&regions, g)
        }
        None => Ok(vec![]),
    };
    // the stored pixels are redacted in place when there is something to hide (the clean
    // paths below still need them as decoded); no copy of the picture is made
    let mut img = if regions.is_empty() {
        DynamicImage::new_rgb8(0, 0)
    } else {
        std::mem::replace(&mut dec.image, DynamicImage::new_rgb8(0, 0))
    };
    apply_regions(&mut img, &regions, cfg);
    e.detections_not_hidden = not_hidden;
    stats::add(Stage::Redact, t_stage.elapsed().as_nanos() as u64);
    let t_stage = Instant::now();
    let put = |e: &mut FileEntry, enc: encode::Encoded| {
        e.metadata_kept = enc.metadata_kept;
        e.metadata_dropped = enc.metadata_dropped;
        e.metadata_removed = enc.metadata_removed;
        e.metadata_regenerated = enc.metadata_regenerated;
        enc.bytes
    };
    let out_bytes = if regions.is_empty() {
        // nothing to hide: the input byte for byte when it holds only the examined image,
        // else its metadata rewritten around the untouched image data (previews re-rendered,
        // data after the image dropped, or stripping asked for); a PNG that is stripped is
        // re-encoded losslessly
        e.status = "clean".into();
        match encode::clean(&dec, &bytes, &cfg.meta).context("rewriting the metadata failed")? {
            None => {
                e.encoding = Some("copy".into());
                e.metadata_kept = dec.metadata.clone();
                bytes
            }
            Some(enc) => {
                let png_stripped = dec.format == decode::Format::Png && cfg.meta.strips();
                e.encoding = Some(
                    if png_stripped {
                        "lossless"
                    } else {
                        "metadata-only"
                    }
                    .into(),
                );
                put(e, enc)
            }
        }
    } else {
        let mut enc = None;
        if let Some(g) = &grid {
            match dct
                .map_err(anyhow::Error::msg)
                .and_then(|d| encode::encode_jpeg_lossless(&bytes, &d, &img, &cfg.meta))
            {
                Ok(x) => {
                    e.mcu = Some([g.mcu_w, g.mcu_h]);
                    enc = Some(x)
                }
                Err(why) => {
                    e.fallback = Some(format!("lossless path failed ({why:#}); re-encoded"))
                }
            }
        }
        let enc = match enc {
            Some(x) => x,
            None => encode::encode(&img, &dec, &bytes, &cfg.meta).context("encoding failed")?,
        };
        e.status = "redacted".into();
        e.encoding = Some(
            if enc.quality.is_some() {
                "reencode"
            } else {
                "lossless"
            }
            .into(),
        );
        e.blocks_changed = enc.blocks_changed;
        e.jpeg_quality = enc.quality;
        put(e, enc)
    };
    e.regions = regions;
    stats::add(Stage::Encode, t_stage.elapsed().as_nanos() as u64);
    let t_stage = Instant::now();
    encode::write_atomic(&job.output, &out_bytes, Some(&job.input))?;
    e.output = Some(rel_string(&job.rel));
    e.output_sha256 = Some(models::sha256_hex(&out_bytes));
    e.output_bytes = Some(out_bytes.len() as u64);
    stats::add(Stage::Write, t_stage.elapsed().as_nanos() as u64);
    Ok(())
}

/// What the detectors find in one file, read only (`pixla check`): nothing is written.
#[derive(Debug, Clone)]
pub struct Scan {
    pub sha256: String,
    pub bytes: u64,
    /// Stored size (EXIF orientation not applied).
    pub width: u32,
    pub height: u32,
    /// Each detection with its box mapped to stored pixels, before any margin.
    pub found: Vec<Found>,
}

/// Decode and detect one file exactly as [`process`] does, without writing anything. An
/// error means the file could not be examined (to a gate: a failure, never a pass).
pub fn scan_file(path: &Path, cfg: &Config, models: &Models) -> anyhow::Result<Scan> {
    use anyhow::Context;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> anyhow::Result<Scan> {
        let (sha256, bytes, (w, h, orientation, found)) = if crate::tiffpath::is_tiff(path)? {
            let sha = models::sha256_file(path).context("cannot read the file")?;
            let len = std::fs::metadata(path)
                .context("cannot read the file")?
                .len();
            (sha, len, crate::tiffpath::scan(path, cfg, models)?)
        } else {
            let bytes = std::fs::read(path).context("cannot read the file")?;
            let dec = decode::decode(&bytes, path, &cfg.limits)?;
            let found = detect_image(&dec.upright(), cfg, models).context("detection failed")?;
            (
                models::sha256_hex(&bytes),
                bytes.len() as u64,
                (
                    dec.image.width(),
                    dec.image.height(),
                    dec.orientation,
                    found,
                ),
            )
        };
        let found = found
            .into_iter()
            .map(|mut f| {
                f.det.bbox = decode::box_to_stored(f.det.bbox, orientation, w, h);
                f
            })
            .collect();
        Ok(Scan {
            sha256,
            bytes,
            width: w,
            height: h,
            found,
        })
    }))
    .unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "internal error while examining this file (please report it)"
        ))
    })
}

/// The MCU grid for the lossless JPEG path, `Ok(None)` when the path does not apply (not a
/// JPEG, nothing to hide, or `--jpeg reencode`), `Err(reason)` when it applies but cannot be
/// taken (the file is then re-encoded and the reason recorded).
fn lossless_grid(
    dec: &Decoded,
    bytes: &[u8],
    found: &[Found],
    cfg: &Config,
) -> Result<Option<Grid>, String> {
    if dec.format != decode::Format::Jpeg || cfg.jpeg != JpegMode::Lossless {
        return Ok(None);
    }
    let methods: Vec<Method> = found
        .iter()
        .map(|f| cfg.method(f.det.class))
        .filter(|m| *m != Method::None)
        .collect();
    if methods.is_empty() {
        return Ok(None);
    }
    if methods.contains(&Method::Blur) {
        return Err("blur is not done in the DCT domain; re-encoded".into());
    }
    jpeg_lossless::grid(bytes)
        .map(Some)
        .map_err(|e| format!("lossless path not possible ({e:#}); re-encoded"))
}

/// Options of a batch run that are not detection settings.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub report: Option<PathBuf>,
    pub operator: Option<String>,
    pub command: Vec<String>,
    pub shard: Option<(u32, u32)>,
    pub progress: bool,
    /// Continue the batch journaled in OUT (`--resume`), keeping every output whose hash checks.
    pub resume: bool,
    /// Measured accuracy to record (`redact --accuracy`).
    pub accuracy: Option<report::Accuracy>,
}

pub struct Outcome {
    pub report: Report,
    pub report_path: PathBuf,
    /// Files of this run that failed (for `--regions`: of the files the sidecar named).
    pub failed: usize,
    /// Stopped by a signal before every file was done (the journal is kept for `--resume`).
    pub interrupted: bool,
}

impl Outcome {
    /// 0 when every file of this run was redacted or clean, 1 when any failed, 130 when a
    /// signal stopped the batch.
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            crate::signals::EXIT_INTERRUPTED as i32
        } else if self.failed > 0 {
            1
        } else {
            0
        }
    }
}

/// The operator recorded in the report: the flag, else `$PIXLA_OPERATOR`, else the OS user.
pub fn operator(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| {
            std::env::var("PIXLA_OPERATOR")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

fn tool_record() -> report::Tool {
    let ort = crate::runtime::locate().ok();
    report::Tool {
        name: "pixla".into(),
        version: crate::VERSION.into(),
        // the library's file name only: its folder is usually under a user's home
        onnxruntime: format!(
            "{} ({})",
            crate::runtime::ORT_VERSION,
            ort.and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_default()
        ),
    }
}

pub fn model_entries(models: &Models) -> Vec<ModelEntry> {
    let user = models.objects.describe();
    models
        .specs()
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let (format, classes) = match (i, &user) {
                (0, Some((f, c))) => (Some(f.clone()), Some(c.clone())),
                _ => (None, None),
            };
            ModelEntry {
                role: m.role.as_str().into(),
                name: m.name.into(),
                sha256: m.sha256.into(),
                licence: m.licence.into(),
                execution_provider: "cpu".into(),
                format,
                classes,
            }
        })
        .collect()
}

/// This machine's name, as the report and the purge log record it.
pub fn host() -> String {
    hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Run a whole batch and write its report.
pub fn run_batch(
    inputs: &[PathBuf],
    out: &Path,
    cfg: &Config,
    opts: &RunOptions,
) -> Result<Outcome, SetupError> {
    let started = report::now();
    let t0 = Instant::now();
    let walked = walk::walk(inputs, out, opts.shard)?;
    let report_path = opts
        .report
        .clone()
        .unwrap_or_else(|| out.join("pixla-report.json"));
    // a plain run would overwrite reviewed outputs and drop the corrections from the record
    if let Ok((old, _)) = report::read(&report_path) {
        let reviewed = old.files.iter().filter(|f| f.reviewed_by.is_some()).count();
        if reviewed > 0 {
            return Err(SetupError::Usage(format!(
                "the report {} records reviewed corrections for {reviewed} file(s); a plain run would overwrite those outputs without them. Write into a new output folder, or apply further corrections with --regions",
                report_path.display()
            )));
        }
    }
    let rp = walk::resolve(&report_path);
    if inputs.iter().any(|i| rp.starts_with(walk::resolve(i))) {
        return Err(SetupError::Usage(format!(
            "the report {} would be written inside an input",
            report_path.display()
        )));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads.max(1))
        .build()
        .map_err(|e| SetupError::Other(e.to_string()))?;
    let models = pool.install(|| Models::load(cfg))?;
    // the report is written inside OUT only through folders that stay inside OUT
    if rp.starts_with(walk::resolve(out)) || report_path.starts_with(out) {
        walk::check_inside(out, &report_path)
            .map_err(|e| SetupError::Usage(format!("the report {}: {e}", report_path.display())))?;
    }
    // the journal: continue it (--resume), or refuse to overwrite an unfinished batch
    let jpath = crate::journal::path(out, opts.shard);
    let header = crate::journal::Header::new(cfg, &models, opts.shard, &walked.batch);
    let earlier = crate::journal::read(&jpath)
        .map_err(|e| SetupError::Usage(format!("{e:#}; delete it to start the batch over")))?;
    let mut reused: BTreeMap<String, FileEntry> = BTreeMap::new();
    match earlier {
        Some(_) if !opts.resume => {
            return Err(SetupError::Usage(format!(
                "{} holds the journal of an unfinished batch ({}): continue it with --resume, or delete that file to start over",
                out.display(),
                jpath.display()
            )))
        }
        Some((h, entries)) => {
            let diff = header.differences(&h);
            if !diff.is_empty() {
                return Err(SetupError::Usage(format!(
                    "cannot resume: the journal {} is of a batch with other {}; rerun with that batch's inputs and flags, or delete the journal to start over",
                    jpath.display(),
                    diff.join(", ")
                )));
            }
            let by_rel: BTreeMap<String, &Job> = walked.jobs.iter().map(|j| (rel_string(&j.rel), j)).collect();
            let kept: Vec<FileEntry> = pool.install(|| {
                entries.into_par_iter().filter(|e| by_rel.get(&e.input).is_some_and(|j| j.check_output().is_ok() && crate::journal::still_valid(e, j))).collect()
            });
            reused = kept.into_iter().map(|e| (e.input.clone(), e)).collect();
        }
        None => {}
    }
    if opts.resume {
        // a killed run's temp files (pixla's own name pattern, only under OUT)
        crate::journal::clean_temps(out);
    }
    std::fs::create_dir_all(out).map_err(|e| {
        SetupError::Usage(format!(
            "cannot create the output folder {}: {e}",
            out.display()
        ))
    })?;
    let journal = crate::journal::Journal::create(&jpath, &header, reused.values())
        .map_err(|e| SetupError::Usage(format!("{e:#}")))?;

    let progress = Progress::new(walked.jobs.len() as u64, opts.progress);
    let mut files: Vec<FileEntry> = pool.install(|| {
        walked
            .jobs
            .par_iter()
            .map(|job| {
                let rel = rel_string(&job.rel);
                if let Some(e) = reused.get(&rel) {
                    progress.done(e);
                    return e.clone();
                }
                if crate::signals::stop_requested() {
                    return FileEntry {
                        input: rel,
                        status: "pending".into(),
                        error: Some("interrupted before processing: continue with --resume".into()),
                        ..Default::default()
                    };
                }
                let e = process(job, cfg, &models);
                if e.output.is_some() {
                    // best effort: a file missing from the journal is only done again
                    let _ = journal.append(&e);
                }
                progress.done(&e);
                e
            })
            .collect()
    });
    progress.finish();
    let interrupted = files.iter().any(|f| f.status == "pending");
    for i in &walked.issues {
        files.push(FileEntry {
            input: rel_string(&i.rel),
            status: i.status.into(),
            error: Some(i.reason.clone()),
            ..Default::default()
        });
    }
    files.sort_by(|a, b| a.input.cmp(&b.input));
    let report = Report {
        schema: report::SCHEMA.into(),
        tool: tool_record(),
        run: report::Run {
            started,
            finished: report::now(),
            operator: operator(opts.operator.as_deref()),
            host: host(),
            command: opts.command.clone(),
            shard: opts.shard.map(|(i, n)| format!("{}/{}", i + 1, n)),
            threads: cfg.threads,
            seconds: (t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            resumed: opts.resume.then_some(reused.len()),
            interrupted,
            batch: Some(header.batch()),
        },
        config: serde_json::to_value(cfg).unwrap_or_default(),
        models: model_entries(&models),
        summary: report::Summary::of(&files),
        files,
        reviews: vec![],
        shards: vec![],
        accuracy: opts.accuracy.clone(),
    };
    let mut report = report;
    report::scrub_paths(&mut report, &path_roots(inputs, out));
    let json = serde_json::to_vec_pretty(&report).map_err(|e| SetupError::Other(e.to_string()))?;
    encode::write_atomic(&report_path, &json, None)
        .map_err(|e| SetupError::Other(format!("cannot write the report: {e:#}")))?;
    if !interrupted {
        let _ = journal.remove();
    }
    Ok(Outcome {
        failed: report.summary.failed,
        report,
        report_path,
        interrupted,
    })
}

/// The absolute forms (as given and resolved) of the inputs' roots and the output root,
/// to be cut from a report's free text ([`report::scrub_paths`]).
fn path_roots(inputs: &[PathBuf], out: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for p in inputs.iter().map(PathBuf::as_path).chain([out]) {
        // a file input's root is its folder
        let root = if p.is_file() {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            p.to_path_buf()
        };
        let abs = if root.is_absolute() {
            root.clone()
        } else {
            std::env::current_dir().unwrap_or_default().join(&root)
        };
        v.push(walk::resolve(&root));
        v.push(abs);
    }
    v
}

/// The sidecar and reviewer of a `redact --regions` run.
#[derive(Debug, Clone)]
pub struct RegionsOptions {
    pub sidecar: PathBuf,
    /// Used when the sidecar names no reviewer; must agree with it when both are given.
    pub reviewer: Option<String>,
}

/// A file of a review re-run: its job and corrections, or why it cannot be re-run.
type ReRun<'a> = Result<(&'a Job, Edits), String>;

/// Apply a regions sidecar: re-process, from the originals under `inputs`, only the files
/// the sidecar names, with detection as usual plus the corrections (this sidecar's and
/// those of earlier reviews in the report), and update the batch report at OUT in place.
/// The run must use the report's configuration and models (set-up error otherwise). A file
/// that fails (unknown path, stale review, an edit that cannot be carried out, unreadable
/// original) gets a per-file error, and its previous output is removed: it did not reflect
/// the review, and the report and the output tree must agree. Outputs are written and
/// removed only inside OUT, through real folders ([`walk::inside`]).
pub fn run_regions(
    inputs: &[PathBuf],
    out: &Path,
    cfg: &Config,
    opts: &RunOptions,
    ro: &RegionsOptions,
) -> Result<Outcome, SetupError> {
    let started = report::now();
    if opts.shard.is_some() {
        return Err(SetupError::Usage("--regions and --shard do not go together: merge the shard reports (`pixla report merge`), review, then apply the sidecar to the merged report with --report".into()));
    }
    let sidecar_bytes = std::fs::read(&ro.sidecar).map_err(|e| {
        SetupError::Usage(format!(
            "cannot read the sidecar {}: {e}",
            ro.sidecar.display()
        ))
    })?;
    let sidecar = crate::sidecar::parse(&sidecar_bytes)
        .map_err(|e| SetupError::Usage(format!("sidecar {}: {e}", ro.sidecar.display())))?;
    let named = sidecar
        .reviewer
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let flag = ro
        .reviewer
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let reviewer = match (named, flag) {
        (Some(a), Some(b)) if a != b => return Err(SetupError::Usage(format!("the sidecar names reviewer `{a}` but --reviewer says `{b}`"))),
        (Some(a), _) | (None, Some(a)) => a.to_string(),
        (None, None) => return Err(SetupError::Usage("the sidecar names no reviewer: pass --reviewer NAME (the report records who made each correction)".into())),
    };
    let by = format!("manual:{reviewer}");
    let report_path = opts
        .report
        .clone()
        .unwrap_or_else(|| out.join("pixla-report.json"));
    let (mut rep, _) = report::read(&report_path).map_err(|e| SetupError::Usage(format!("{e}; `--regions` updates the report of an earlier `pixla redact` run into the same OUT")))?;
    let sidecar_sha = models::sha256_hex(&sidecar_bytes);
    if let Some(r) = rep.reviews.iter().find(|r| r.sidecar_sha256 == sidecar_sha) {
        return Err(SetupError::Usage(format!(
            "this sidecar (sha256 {sidecar_sha}) was already applied to {} at {}; nothing to do",
            report_path.display(),
            r.finished
        )));
    }
    let walked = walk::walk(inputs, out, None)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads.max(1))
        .build()
        .map_err(|e| SetupError::Other(e.to_string()))?;
    let models = pool.install(|| Models::load(cfg))?;
    let ours = report::comparable_config(&serde_json::to_value(cfg).unwrap_or_default());
    let theirs = report::comparable_config(&rep.config);
    if ours != theirs {
        let diff: Vec<String> = ours
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| theirs.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                format!(
                    "{k}: report {} vs now {v}",
                    theirs
                        .get(k.as_str())
                        .map(|t| t.to_string())
                        .unwrap_or("-".into())
                )
            })
            .collect();
        return Err(SetupError::Usage(format!(
            "the settings differ from the report's run ({}): pass the same flags as that run",
            diff.join("; ")
        )));
    }
    let ids = |m: &[ModelEntry]| {
        m.iter()
            .map(|m| (m.role.clone(), m.name.clone(), m.sha256.clone()))
            .collect::<Vec<_>>()
    };
    if ids(&model_entries(&models)) != ids(&rep.models) {
        return Err(SetupError::Usage("the models differ from the report's run (name or sha256): use the same --plate-model and models".into()));
    }
    let jobs: BTreeMap<String, &Job> = walked
        .jobs
        .iter()
        .map(|j| (rel_string(&j.rel), j))
        .collect();
    let prior: BTreeMap<String, FileEntry> = rep
        .files
        .iter()
        .map(|f| (f.input.clone(), f.clone()))
        .collect();
    // (rel, job and edits) or (rel, error)
    let mut todo: Vec<(String, ReRun)> = Vec::new();
    for (rel, fe) in &sidecar.files {
        let old = prior.get(rel);
        let r = match jobs.get(rel) {
            None => Err(format!("`{rel}` (named in the sidecar) is not among the inputs: give the same inputs as the report's run")),
            Some(job) => match (&fe.output_sha256, old.and_then(|o| o.output_sha256.as_ref())) {
                (Some(want), have) if have != Some(want) => Err(format!(
                    "stale review: the sidecar was made from output sha256 {want}, the report now lists {}; review the current output again",
                    have.map(String::as_str).unwrap_or("no output")
                )),
                _ => {
                    let mut ed = old.map(Edits::earlier).unwrap_or_default();
                    ed.add.extend(fe.add.iter().map(|a| ManualRegion { class: a.class, bbox: a.bbox, method: a.method, note: a.note.clone(), source: by.clone() }));
                    ed.suppress.extend(fe.suppress.iter().map(|s| (s.bbox, by.clone())));
                    Ok((*job, ed))
                }
            },
        };
        todo.push((rel.clone(), r));
    }
    let progress = Progress::new(todo.len() as u64, opts.progress);
    let done: Vec<FileEntry> = pool.install(|| {
        todo.par_iter()
            .map(|(rel, r)| {
                let mut e = match r {
                    Ok((job, ed)) => process_with(job, cfg, &models, Some(ed)),
                    Err(msg) => FileEntry { input: rel.clone(), status: "failed".into(), error: Some(msg.clone()), ..Default::default() },
                };
                e.reviewed_by = Some(reviewer.clone());
                if e.status == "failed" {
                    // the earlier output did not reflect this review: remove it (fail closed)
                    // only inside OUT, through real folders: a link on the way is not followed
                    let note = prior.get(rel).and_then(|o| o.output.as_deref()).and_then(|o| match walk::inside(out, Path::new(o), walk::Leaf::Replace, "the output folder") {
                        Err(r) => Some(format!("; its earlier output {o} was NOT removed ({}): do not deliver it", r.detail)),
                        Ok(p) if std::fs::symlink_metadata(&p).is_err() => None,
                        Ok(p) => Some(match std::fs::remove_file(&p) {
                            Ok(()) => "; its earlier output was removed".to_string(),
                            Err(err) => format!("; its earlier output could NOT be removed ({err}): do not deliver it"),
                        }),
                    });
                    if let Some(note) = note {
                        e.error = Some(format!("{}{note}", e.error.as_deref().unwrap_or("failed")));
                    }
                }
                progress.done(&e);
                e
            })
            .collect()
    });
    progress.finish();
    let failed = done.iter().filter(|e| e.status == "failed").count();
    let touched: Vec<String> = done.iter().map(|e| e.input.clone()).collect();
    let mut files: BTreeMap<String, FileEntry> =
        rep.files.drain(..).map(|f| (f.input.clone(), f)).collect();
    for e in done {
        files.insert(e.input.clone(), e);
    }
    rep.files = files.into_values().collect();
    rep.summary = report::Summary::of(&rep.files);
    rep.reviews.push(report::ReviewRun {
        started,
        finished: report::now(),
        operator: operator(opts.operator.as_deref()),
        host: host(),
        command: opts.command.clone(),
        tool_version: crate::VERSION.into(),
        reviewer,
        sidecar: ro
            .sidecar
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sidecar_sha256: sidecar_sha,
        files: touched,
        failed,
    });
    report::scrub_paths(&mut rep, &path_roots(inputs, out));
    let json = serde_json::to_vec_pretty(&rep).map_err(|e| SetupError::Other(e.to_string()))?;
    encode::write_atomic(&report_path, &json, None)
        .map_err(|e| SetupError::Other(format!("cannot write the report: {e:#}")))?;
    Ok(Outcome {
        report: rep,
        report_path,
        failed,
        interrupted: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plate detector that calls the whole crop a plate, as a text detector does on a
    /// low-detail aerial vehicle.
    struct WholeCropIsText;

    impl Detector for WholeCropIsText {
        fn spec(&self) -> &'static ModelSpec {
            &models::PPOCR_DET
        }
        fn detect(&self, img: &RgbImage) -> anyhow::Result<Vec<Detection>> {
            Ok(vec![Detection {
                class: Class::Plate,
                score: 0.9,
                bbox: BoxF::new(
                    2.0,
                    2.0,
                    img.width() as f32 - 2.0,
                    img.height() as f32 - 2.0,
                ),
            }])
        }
    }

    #[test]
    fn a_huge_text_box_on_a_vehicle_gives_the_plate_band_never_the_vehicle() {
        let img = RgbImage::from_pixel(800, 600, image::Rgb([90, 90, 90]));
        let cfg = Config::default();
        let car = Detection {
            class: Class::Vehicle,
            score: 0.8,
            bbox: BoxF::new(100.0, 100.0, 340.0, 260.0), // 240 x 160 px: a readable plate
        };
        // the text box is no plate...
        let plates = plates_in_vehicle(&MemRaster(&img), &WholeCropIsText, &car, &cfg).unwrap();
        assert!(plates.is_empty(), "{plates:?}");
        // ...so the vehicle, large enough for a readable plate, gets its plate band
        let mut found = vec![Found {
            det: car.clone(),
            model: "pixla-aerial",
        }];
        add_plate_bands(&mut found, &[], "pixla-plate");
        let got: Vec<&Found> = found
            .iter()
            .filter(|f| f.det.class == Class::Plate)
            .collect();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].model, PLATE_BAND);
        assert_eq!(got[0].source(), "fallback:plate-band");
        // the band with pixla's margin covers less than half of the vehicle box
        let fill = got[0].det.bbox.pad(cfg.margin, cfg.margin_px);
        let inside = BoxF::new(
            fill.x1.max(car.bbox.x1),
            fill.y1.max(car.bbox.y1),
            fill.x2.min(car.bbox.x2),
            fill.y2.min(car.bbox.y2),
        );
        assert!(
            inside.area() <= 0.5 * car.bbox.area(),
            "band {fill:?} covers {:.0} % of the vehicle",
            100.0 * inside.area() / car.bbox.area()
        );
        // in the lower half of the vehicle, where a plate facing the camera is
        assert!(got[0].det.bbox.y1 > (car.bbox.y1 + car.bbox.y2) / 2.0);
        // a weak plate candidate inside the vehicle is filled instead of the band
        let weak = Detection {
            class: Class::Plate,
            score: 0.3,
            bbox: BoxF::new(200.0, 220.0, 240.0, 232.0),
        };
        let mut tight = vec![found[0].clone()];
        add_plate_bands(&mut tight, std::slice::from_ref(&weak), "pixla-plate");
        assert_eq!(tight.len(), 2);
        assert_eq!((tight[1].model, &tight[1].det), ("pixla-plate", &weak));
        // a vehicle holding a plate region gets none
        let mut with_plate = vec![
            found[0].clone(),
            Found {
                det: Detection {
                    class: Class::Plate,
                    score: 0.9,
                    bbox: BoxF::new(200.0, 220.0, 240.0, 232.0),
                },
                model: "pixla-plate",
            },
        ];
        add_plate_bands(&mut with_plate, &[], "pixla-plate");
        assert_eq!(with_plate.len(), 2);
        // a vehicle too small for a readable plate gets none
        let mut small = vec![Found {
            det: Detection {
                bbox: BoxF::new(100.0, 100.0, 160.0, 140.0),
                ..car.clone()
            },
            model: "pixla-aerial",
        }];
        add_plate_bands(&mut small, &[], "pixla-plate");
        assert_eq!(small.len(), 1);
    }

    #[test]
    fn a_text_box_as_big_as_the_vehicle_is_not_a_plate() {
        let car = BoxF::new(800.0, 290.0, 880.0, 350.0); // 80 x 60
                                                         // what PP-OCR returned on the demo's dark car: the whole front, 56 x 40
        assert!(!plausible_plate(
            &BoxF::new(824.0, 304.0, 880.0, 344.0),
            &car
        ));
        // the whole vehicle, and a tall thin box
        assert!(!plausible_plate(&car, &car));
        assert!(!plausible_plate(
            &BoxF::new(830.0, 300.0, 840.0, 330.0),
            &car
        ));
        // a plate 16 x 5 px on that car, and the labelled fixtures' extremes
        assert!(plausible_plate(
            &BoxF::new(832.0, 335.0, 848.0, 340.0),
            &car
        ));
        let v = BoxF::new(0.0, 0.0, 1000.0, 1000.0);
        assert!(plausible_plate(&BoxF::new(100.0, 100.0, 400.0, 380.0), &v)); // 0.30 wide, 0.28 tall, aspect 1.07
        assert!(plausible_plate(&BoxF::new(100.0, 100.0, 280.0, 170.0), &v));
        // text beside the vehicle, outside its box: judged by its shape
        assert!(plausible_plate(
            &BoxF::new(900.0, 300.0, 916.0, 306.0),
            &car
        ));
        assert!(!plausible_plate(
            &BoxF::new(900.0, 300.0, 904.0, 330.0),
            &car
        ));
    }

    #[test]
    fn read_fit_shrinks_in_bands_like_a_whole_thumbnail() {
        let img = RgbImage::from_fn(1500, 900, |x, y| {
            image::Rgb([(x / 6) as u8, (y / 4) as u8, ((x + y) / 10) as u8])
        });
        let r = PixBox {
            x: 100,
            y: 50,
            w: 1300,
            h: 800,
        };
        let small = read_fit(&MemRaster(&img), r, 400).unwrap();
        assert_eq!(small.dimensions(), (400, 246));
        let whole = image::imageops::thumbnail(
            &image::imageops::crop_imm(&img, r.x, r.y, r.w, r.h).to_image(),
            400,
            246,
        );
        let diff: u64 = small
            .as_raw()
            .iter()
            .zip(whole.as_raw())
            .map(|(a, b)| (*a as i32 - *b as i32).unsigned_abs() as u64)
            .sum();
        assert!(
            diff as f64 / (small.as_raw().len() as f64) < 2.0,
            "mean abs diff {}",
            diff as f64 / small.as_raw().len() as f64
        );
        // a region already small enough is read as is
        let same = read_fit(
            &MemRaster(&img),
            PixBox {
                x: 0,
                y: 0,
                w: 300,
                h: 200,
            },
            400,
        )
        .unwrap();
        assert_eq!(same.dimensions(), (300, 200));
    }
}
