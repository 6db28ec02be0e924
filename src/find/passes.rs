//! The detection passes over one picture: the jobs ([`jobs::plan`]: full-resolution tiles,
//! the pyramid levels and the downscaled whole-image pass) run in parallel, their detections
//! are merged per class, then the plates in each vehicle are added.

use crate::config::Config;
use crate::detect::merge::{greedy_nmm, greedy_nmm_tagged};
use crate::detect::{Class, Detection, Detector};
use crate::find::jobs::{self, Job, Level, Plan};
use crate::find::loaded::Models;
use crate::find::plates::{add_plate_bands, plates_in_vehicle};
use crate::find::raster::{MemRaster, Raster};
use crate::find::{Found, FoundBy};
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
    let plan = jobs::plan(src, cfg)?;
    let all = run_jobs(src, models, &plan)?;
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
        .map(|(det, model)| Found {
            det,
            by: FoundBy::Model(model),
        })
        .collect();
    if let Some(plates) = &models.plates {
        add_plates(src, plates.as_ref(), &vehicles, cfg, &mut found)?;
    }
    Ok(found)
}

/// Run every job of `plan` in parallel; the detections, each with its model's name, in the
/// plan's order.
fn run_jobs(
    src: &dyn Raster,
    models: &Models,
    plan: &Plan,
) -> anyhow::Result<Vec<(Detection, &'static str)>> {
    let per: Vec<anyhow::Result<Vec<(Detection, &'static str)>>> = plan
        .jobs
        .par_iter()
        .map(|job| run_job(src, models, &plan.levels, job))
        .collect();
    let mut all = Vec::new();
    for r in per {
        all.extend(r?);
    }
    Ok(all)
}

/// One job: its pixels through each of its detectors, boxes mapped back to full resolution.
fn run_job(
    src: &dyn Raster,
    models: &Models,
    levels: &[Level],
    job: &Job,
) -> anyhow::Result<Vec<(Detection, &'static str)>> {
    let (img, back) = job.pixels(src, models, levels)?;
    let mut out = Vec::new();
    for d in job.detectors.of(models) {
        let name = d.spec().name;
        out.extend(d.detect(&img)?.into_iter().map(|mut det| {
            det.bbox = back.apply(det.bbox);
            (det, name)
        }));
    }
    Ok(out)
}

/// The plates in each vehicle, merged, added to `found`; with `cfg.plate_bands`, a plate
/// band for each vehicle large enough for a readable plate where none reached the threshold.
fn add_plates(
    src: &dyn Raster,
    plates: &dyn Detector,
    vehicles: &[Detection],
    cfg: &Config,
    found: &mut Vec<Found>,
) -> anyhow::Result<()> {
    let per: Vec<anyhow::Result<Vec<Found>>> = vehicles
        .par_iter()
        .map(|v| plates_in_vehicle(src, plates, v, cfg))
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
        by: FoundBy::Model(pname),
    }));
    if cfg.plate_bands {
        add_plate_bands(found, &weak, pname);
    }
    Ok(())
}
