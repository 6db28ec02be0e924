//! Detection on a TIFF ([`detect_tiff`]): decoded whole when small enough, else read tile
//! by tile from the file through [`TiffRaster`], so memory stays bounded by the tiles in
//! flight.

use crate::config::Config;
use crate::error::{FileError, FileErrorKind};
use crate::file::failure::tagged;
use crate::find::loaded::Models;
use crate::find::passes::detect_raster;
use crate::find::raster::{MemRaster, Raster};
use crate::find::Found;
use crate::formats::tiff::{self, TiffInfo};
use crate::geom::PixBox;
use anyhow::Context;
use image::RgbImage;
use std::path::Path;

/// Detection on a TIFF: decoded whole (orientation applied) when it is at most
/// `--max-megapixels`, else read tile by tile from the file (orientation 1 only).
pub fn detect_tiff(
    path: &Path,
    info: &TiffInfo,
    (w, h): (u32, u32),
    orientation: image::metadata::Orientation,
    cfg: &Config,
    models: &Models,
) -> anyhow::Result<Vec<Found>> {
    let mp = w as f64 * h as f64 / 1e6;
    Ok(if mp <= cfg.limits.max_megapixels {
        let mut img = tiff::read_window(path, 0, 0, 0, w, h)
            .and_then(|win| win.to_image())
            .map_err(|e| tagged(FileErrorKind::Decode, e))?;
        img.apply_orientation(orientation);
        let up = img.to_rgb8();
        drop(img);
        detect_raster(&MemRaster(&up), cfg, models).context("detection failed")?
    } else {
        if orientation != image::metadata::Orientation::NoTransforms {
            return Err(FileError::new(FileErrorKind::Unsupported, format!("TIFF over {:.0} MP with an Orientation tag other than 1: not supported tile by tile", cfg.limits.max_megapixels)).into());
        }
        detect_raster(&TiffRaster::new(path, info), cfg, models).context("detection failed")?
    })
}

/// IFD 0 of a TIFF, read tile by tile through [`tiff::read_window`], as upright RGB8
/// (16-bit scaled down, grey expanded, alpha dropped). Only for orientation 1.
pub struct TiffRaster<'a> {
    pub path: &'a Path,
    pub info: &'a TiffInfo,
    /// Open readers (parsed IFDs, offset tables), one per concurrent tile read.
    readers: std::sync::Mutex<Vec<tiff::TiffReader>>,
}

impl<'a> TiffRaster<'a> {
    pub fn new(path: &'a Path, info: &'a TiffInfo) -> Self {
        TiffRaster {
            path,
            info,
            readers: std::sync::Mutex::new(Vec::new()),
        }
    }
    /// A window of IFD `ifd` as RGB8; a failure is tagged `decode` (see [`tagged`]).
    fn rgb(&self, ifd: usize, r: PixBox) -> anyhow::Result<RgbImage> {
        self.read_rgb(ifd, r)
            .map_err(|e| tagged(FileErrorKind::Decode, e))
    }
    fn read_rgb(&self, ifd: usize, r: PixBox) -> anyhow::Result<RgbImage> {
        let pooled = self.readers.lock().map(|mut v| v.pop()).unwrap_or(None);
        let mut rd = match pooled {
            Some(rd) => rd,
            None => tiff::TiffReader::open(self.path)?,
        };
        let img = rd
            .read_window(ifd, r.x, r.y, r.w, r.h)?
            .to_image()?
            .to_rgb8();
        if let Ok(mut v) = self.readers.lock() {
            v.push(rd);
        }
        Ok(img)
    }
}

impl Raster for TiffRaster<'_> {
    fn size(&self) -> (u32, u32) {
        (self.info.ifds[0].width, self.info.ifds[0].height)
    }
    fn read(&self, r: PixBox) -> anyhow::Result<RgbImage> {
        self.rgb(0, r)
    }
    fn overview(&self, w: u32, h: u32) -> anyhow::Result<RgbImage> {
        // the smallest internal overview that is still at least as big as asked for
        let best = self
            .info
            .ifds
            .iter()
            .filter(|i| {
                i.is_overview()
                    && !i.is_mask()
                    && i.unsupported.is_none()
                    && i.width >= w
                    && i.height >= h
            })
            .min_by_key(|i| i.width);
        if let Some(o) = best {
            let img = self.rgb(
                o.index,
                PixBox {
                    x: 0,
                    y: 0,
                    w: o.width,
                    h: o.height,
                },
            )?;
            return Ok(image::imageops::thumbnail(&img, w, h));
        }
        // else: bands of full-resolution rows, each shrunk to its share of the output rows
        let (fw, fh) = self.size();
        let mut out = RgbImage::new(w, h);
        let band = 512u32;
        let mut y = 0;
        while y < fh {
            let y1 = (y + band).min(fh);
            let (t0, t1) = (
                (y as u64 * h as u64 / fh as u64) as u32,
                (y1 as u64 * h as u64 / fh as u64) as u32,
            );
            if t1 > t0 {
                let rows = self.rgb(
                    0,
                    PixBox {
                        x: 0,
                        y,
                        w: fw,
                        h: y1 - y,
                    },
                )?;
                let small = image::imageops::thumbnail(&rows, w, t1 - t0);
                image::imageops::replace(&mut out, &small, 0, t0 as i64);
            }
            y = y1;
        }
        Ok(out)
    }
}
