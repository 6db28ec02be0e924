//! The detection passes over one picture: full-resolution tiles, the downscaled whole-image
//! pass and the pyramid levels, merged per class, then the plates in each vehicle.

use crate::config::Config;
use crate::detect::merge::{greedy_nmm, greedy_nmm_tagged};
use crate::detect::tile::tiles;
use crate::detect::{Class, Detection, Detector};
use crate::find::loaded::Models;
use crate::find::plates::{add_plate_bands, plates_in_vehicle};
use crate::find::raster::{read_fit, MemRaster, Raster};
use crate::find::Found;
use crate::geom::{BoxF, PixBox};
use crate::stats::{self, Stage};
use image::RgbImage;
use rayon::prelude::*;

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
