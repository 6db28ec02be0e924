//! The detection jobs of one picture, planned before any detector runs: each [`Job`] is one
//! window of one [`Pass`] (a full-resolution tile, the downscaled whole image, or a tile of a
//! pyramid level) and names the detectors that run on it. [`Job::pixels`] reads a job's pixels
//! and says how to map its boxes back to full resolution ([`ToFull`]).
//!
//! The plan is in a fixed order (tiles, then each pyramid level's tiles, then the whole
//! image), and so are the detections made from it: merging depends on that order.

use crate::config::Config;
use crate::detect::tile::tiles;
use crate::detect::Detector;
use crate::find::loaded::Models;
use crate::find::raster::{read_fit, Raster};
use crate::geom::{BoxF, PixBox};
use crate::stats::{self, Stage};
use image::RgbImage;

/// Which pass over the picture a job belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// A tile at full resolution.
    Tile,
    /// The whole picture, downscaled to the overview model's input.
    Whole,
    /// A tile of the copy downscaled by this factor (4, 16, ...).
    Pyramid(u32),
}

/// Which detectors run on a job: the tile model, the overview model (NanoDet beside
/// pixla-aerial), or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detectors {
    TileModel,
    Overview,
    Both,
}

impl Detectors {
    /// The detectors, in the order they run (the tile model first).
    pub fn of(self, models: &Models) -> Vec<&dyn Detector> {
        match self {
            Detectors::TileModel => vec![models.objects.as_ref()],
            Detectors::Overview => vec![models.overview()],
            Detectors::Both => std::iter::once(models.objects.as_ref())
                .chain(models.overview.as_deref())
                .collect(),
        }
    }
}

/// One window of one pass, and the detectors that run on it.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub pass: Pass,
    /// The window, in the coordinates of the pass's picture (the downscaled copy for a
    /// pyramid level, the whole picture for [`Pass::Whole`]).
    pub window: PixBox,
    pub detectors: Detectors,
}

/// A pyramid level: the picture downscaled by `factor`, held in memory when it is small
/// enough (else its windows are read at full resolution and shrunk).
pub struct Level {
    pub factor: u32,
    pub mem: Option<RgbImage>,
}

/// Every job of a picture, and the pyramid levels they read from.
pub struct Plan {
    pub jobs: Vec<Job>,
    pub levels: Vec<Level>,
}

/// Plan the jobs of `src`: the full-resolution tiles, each pyramid level's tiles and the
/// whole-image pass, as `cfg` asks for them.
pub fn plan(src: &dyn Raster, cfg: &Config) -> anyhow::Result<Plan> {
    let (w, h) = src.size();
    let windows = tiles(w, h, cfg.tile, cfg.overlap);
    let whole = cfg.whole_image_pass && windows.len() > 1;
    // the overview model (NanoDet) sees every picture at a scale it knows: on the tiles of a
    // picture too small for a pyramid level (long side up to 4 tiles), on the pyramid levels
    // and the whole-image pass of bigger ones
    let full = if w.max(h) / 4 <= cfg.tile || !cfg.pyramid {
        Detectors::Both
    } else {
        Detectors::TileModel
    };
    let mut jobs: Vec<Job> = windows
        .into_iter()
        .map(|window| Job {
            pass: Pass::Tile,
            window,
            detectors: full,
        })
        .collect();
    let levels = if cfg.pyramid {
        pyramid_levels(src, cfg)?
    } else {
        Vec::new()
    };
    for level in &levels {
        let f = level.factor;
        let (lw, lh) = (w.div_ceil(f), h.div_ceil(f));
        jobs.extend(
            tiles(lw, lh, cfg.tile, cfg.overlap)
                .into_iter()
                .map(|window| Job {
                    pass: Pass::Pyramid(f),
                    window,
                    detectors: Detectors::Both,
                }),
        );
    }
    if whole {
        jobs.push(Job {
            pass: Pass::Whole,
            window: PixBox { x: 0, y: 0, w, h },
            detectors: Detectors::Overview,
        });
    }
    Ok(Plan { jobs, levels })
}

/// Pyramid levels: copies downscaled by 4, 16, ... while a copy still needs several tiles;
/// small ones are made once in memory (from the raster's overview), larger ones are read
/// window by window at full resolution and shrunk.
fn pyramid_levels(src: &dyn Raster, cfg: &Config) -> anyhow::Result<Vec<Level>> {
    let (w, h) = src.size();
    let mut levels = Vec::new();
    let mut f = 4u32;
    while w.max(h) / f > cfg.tile {
        let (lw, lh) = (w.div_ceil(f), h.div_ceil(f));
        let mem = (lw as u64 * lh as u64 <= 32_000_000)
            .then(|| src.overview(lw, lh))
            .transpose()?;
        levels.push(Level { factor: f, mem });
        f = f.saturating_mul(4);
    }
    Ok(levels)
}

/// How a box found on a job's pixels maps back to the full-resolution picture.
#[derive(Clone, Copy, Debug)]
pub enum ToFull {
    /// A full-resolution tile: shift by its origin.
    Shift { x: f32, y: f32 },
    /// The whole picture downscaled: scale up by this factor.
    Scale(f32),
    /// A tile of a pyramid level: shift by its origin, scale up by the level's factor, clip
    /// to the picture.
    Level {
        window: PixBox,
        factor: f32,
        size: (u32, u32),
    },
}

impl ToFull {
    pub fn apply(self, b: BoxF) -> BoxF {
        match self {
            ToFull::Shift { x, y } => b.translate(x, y),
            ToFull::Scale(k) => b.scale(k),
            ToFull::Level {
                window: t,
                factor: s,
                size: (w, h),
            } => BoxF::new(
                (b.x1 + t.x as f32) * s,
                (b.y1 + t.y as f32) * s,
                ((b.x2 + t.x as f32) * s).min(w as f32),
                ((b.y2 + t.y as f32) * s).min(h as f32),
            ),
        }
    }
}

impl Job {
    /// The pixels of the job, and the map from them back to full resolution.
    pub fn pixels(
        &self,
        src: &dyn Raster,
        models: &Models,
        levels: &[Level],
    ) -> anyhow::Result<(RgbImage, ToFull)> {
        let t = self.window;
        match self.pass {
            Pass::Tile => Ok((
                stats::time(Stage::Preprocess, || src.read(t))?,
                ToFull::Shift {
                    x: t.x as f32,
                    y: t.y as f32,
                },
            )),
            Pass::Whole => whole_pixels(src, models),
            Pass::Pyramid(f) => level_pixels(src, levels, f, t),
        }
    }
}

/// The whole image, downscaled to the model input with a fast area filter.
fn whole_pixels(src: &dyn Raster, models: &Models) -> anyhow::Result<(RgbImage, ToFull)> {
    let (w, h) = src.size();
    let s = models.overview().input_side() as f32 / w.max(h) as f32;
    let small = src.overview(
        ((w as f32 * s).round() as u32).max(1),
        ((h as f32 * s).round() as u32).max(1),
    )?;
    let k = w as f32 / small.width() as f32;
    Ok((small, ToFull::Scale(k)))
}

/// Window `t` of the level downscaled by `f`: cut from the level in memory, or read at full
/// resolution and shrunk.
fn level_pixels(
    src: &dyn Raster,
    levels: &[Level],
    f: u32,
    t: PixBox,
) -> anyhow::Result<(RgbImage, ToFull)> {
    let (w, h) = src.size();
    let level = levels
        .iter()
        .find(|l| l.factor == f)
        .and_then(|l| l.mem.as_ref());
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
    Ok((
        crop,
        ToFull::Level {
            window: t,
            factor: f as f32,
            size: (w, h),
        },
    ))
}
