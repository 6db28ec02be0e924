//! TIFF and GeoTIFF files: only the pixels under the redactions change, every tag stays
//! byte-equal (see [`crate::formats::tiff`]), and huge orthophotos are never decoded whole.
//!
//! - Detection reads the picture through a [`Raster`](crate::find::raster::Raster): a TIFF up to `--max-megapixels` is
//!   decoded in memory as any image; a bigger one (up to `--max-megapixels-tiled`) is read
//!   tile by tile from the file ([`TiffRaster`](detect::TiffRaster)), so memory stays bounded by the tiles in
//!   flight.
//! - Redaction reads each region's window from the file, hides it in the file's own sample
//!   type, and writes it back as a patch; internal overviews (reduced-resolution IFDs, e.g.
//!   made by `gdaladdo`) get the same regions scaled, so no overview shows what the full
//!   resolution hides.
//! - A TIFF with more than one full-resolution image (a multi-page TIFF) fails: its other
//!   pages would go unexamined. A layout `tiffedit` cannot edit in place (JPEG-in-TIFF,
//!   float samples...) is decoded and re-encoded with the `image` crate instead, if it fits
//!   the in-memory limit; its extra tags are then lost, and the report says so.

//!
//! Detection is in [`detect`], the in-place redaction in [`patch`], the decode → re-encode
//! path in [`fallback`](mod@fallback) and the recording of the output in [`output`].

pub mod detect;
pub mod fallback;
pub mod output;
pub mod patch;

use crate::config::Config;
use crate::error::{FileError, FileErrorKind};
use crate::file::corrections::{edit_regions, Edits};
use crate::file::failure::Classify;
use crate::file::plan::plan_regions;
use crate::file::tiff::detect::detect_tiff;
use crate::file::tiff::fallback::fallback;
use crate::file::tiff::output::{copy_clean, record_output};
use crate::file::tiff::patch::redact_in_place;
use crate::find::loaded::Models;
use crate::find::passes::detect_raster;
use crate::find::raster::MemRaster;
use crate::find::Found;
use crate::formats::decode::{self, Format};
use crate::formats::tiff::{self, TiffInfo};
use crate::fsio::walk::Job;
use crate::report::{Encoding, FileEntry, Region, Status};
use anyhow::{bail, Context};
use std::io::Read;
use std::path::Path;

/// Does the file start like a TIFF (classic or BigTIFF, either byte order)?
pub fn is_tiff(path: &Path) -> anyhow::Result<bool> {
    let mut f = std::fs::File::open(path).context("cannot read the file")?;
    let mut head = [0u8; 4];
    let n = f.read(&mut head).context("cannot read the file")?;
    Ok(n == 4 && matches!(&head, b"II*\0" | b"MM\0*" | b"II+\0" | b"MM\0+"))
}

/// Process one TIFF job (see the module docs).
pub fn process(
    job: &Job,
    cfg: &Config,
    models: &Models,
    edits: Option<&Edits>,
    e: &mut FileEntry,
) -> Result<(), FileError> {
    let info = examine(job, cfg, e)?;
    let main = &info.ifds[0];
    if let Some(why) = &main.unsupported {
        // not editable in place: the ordinary decode → re-encode path, if it fits in memory
        return fallback(job, cfg, models, edits, e, why);
    }
    let (w, h) = (main.width, main.height);
    record_input(job, (w, h), cfg, e)?;
    let regions = plan(job, &info, (w, h), cfg, models, edits, e)?;
    if regions.is_empty() {
        e.status = Status::Clean;
        copy_clean(job, e).classify(FileErrorKind::Io)?;
    } else {
        let stats = redact_in_place(job, &info, &regions, w, cfg)?;
        e.status = Status::Redacted;
        e.encoding = Some(Encoding::Lossless);
        e.blocks_changed = Some(stats.chunks_rewritten);
        e.metadata_removed.extend(stats.unreferenced.describe());
        e.regions = regions;
    }
    record_output(job, e)
}

/// The TIFF's structure, once the file is known to be one TIFF image pixla can take: its
/// name says TIFF, no stripping is asked for, and it holds one image.
fn examine(job: &Job, cfg: &Config, e: &mut FileEntry) -> Result<TiffInfo, FileError> {
    decode::check_name(Format::Tiff, &job.input).kind(FileErrorKind::Unsupported)?;
    e.format = Some("tiff".into());
    if cfg.meta.strips() {
        // TIFF tags are kept byte for byte; GPS IFDs and GeoTIFF georeferencing (which is a
        // location too) are not edited, so a stripped delivery cannot be promised
        return Err(FileError::new(FileErrorKind::Unsupported, "--strip-gps/--strip-metadata are not applied to TIFF files (their tags, GeoTIFF georeferencing included, are kept byte for byte): not written"));
    }
    let info = tiff::inspect(&job.input)
        .context("cannot read the TIFF structure")
        .classify(FileErrorKind::Decode)?;
    info.ifds
        .first()
        .context("TIFF without an image")
        .kind(FileErrorKind::Decode)?;
    one_image(&info).kind(FileErrorKind::Unsupported)?;
    Ok(info)
}

/// Records the image's size, refuses it over `--max-megapixels-tiled`, and records the
/// input's size and sha256.
fn record_input(
    job: &Job,
    (w, h): (u32, u32),
    cfg: &Config,
    e: &mut FileEntry,
) -> Result<(), FileError> {
    e.width = Some(w);
    e.height = Some(h);
    let mp = w as f64 * h as f64 / 1e6;
    if mp > cfg.limits.max_megapixels_tiled {
        return Err(FileError::new(FileErrorKind::Limit, format!("image is {w}x{h} ({mp:.0} MP), over the limit of {:.0} MP for tile-by-tile processing (--max-megapixels-tiled): refused before decoding", cfg.limits.max_megapixels_tiled)));
    }
    let meta = std::fs::metadata(&job.input)
        .context("cannot read the file")
        .kind(FileErrorKind::Io)?;
    e.input_bytes = Some(meta.len());
    e.input_sha256 = Some(
        crate::fsio::sha256_file(&job.input)
            .context("cannot read the file")
            .kind(FileErrorKind::Io)?,
    );
    Ok(())
}

/// The regions to hide: detection (whole in memory when small enough, else tile by tile
/// from the file; BigTIFF headers are not read by the image crate, so orientation 1 is
/// assumed for them), then a reviewer's corrections. Records the orientation, the regions a
/// reviewer left visible and the detections left visible by their method.
fn plan(
    job: &Job,
    info: &TiffInfo,
    (w, h): (u32, u32),
    cfg: &Config,
    models: &Models,
    edits: Option<&Edits>,
    e: &mut FileEntry,
) -> Result<Vec<Region>, FileError> {
    let orientation = tiff_orientation(&job.input);
    e.metadata_kept = vec!["tiff-tags".into()];
    let found = detect_tiff(&job.input, info, (w, h), orientation, cfg, models)
        .classify(FileErrorKind::Internal)?;
    e.orientation = Some(decode::orientation_code(orientation));
    let (mut regions, not_hidden) = plan_regions(w, h, &found, orientation, cfg);
    if let Some(ed) = edits {
        let (r, s) = edit_regions(regions, ed, w, h, cfg).kind(FileErrorKind::Review)?;
        regions = r;
        e.suppressed = s;
    }
    e.detections_not_hidden = not_hidden;
    Ok(regions)
}

/// One image per file: a multi-page TIFF (more full-resolution IFDs in the chain) or one
/// with SubIFDs (tag 330: images outside the chain) is refused, since its other images
/// would go unchecked. Reduced-resolution IFDs (overviews) and masks are not pages.
fn one_image(info: &TiffInfo) -> anyhow::Result<()> {
    let pages: Vec<usize> = info
        .ifds
        .iter()
        .skip(1)
        .filter(|i| !i.is_overview() && !i.is_mask())
        .map(|i| i.index)
        .collect();
    if !pages.is_empty() {
        bail!("multi-page TIFF ({} more full-resolution images in IFDs {:?}): pixla examines one image per file, so the other pages would go unchecked; split the pages first", pages.len(), pages);
    }
    let sub: usize = info.ifds.iter().map(|i| i.sub_ifds).sum();
    if sub > 0 {
        bail!("TIFF with {sub} SubIFD image(s) (tag 330): pixla examines one image per file, so those would go unchecked; refused");
    }
    Ok(())
}

/// The TIFF Orientation tag, from the header only.
fn tiff_orientation(path: &Path) -> image::metadata::Orientation {
    use image::ImageDecoder;
    image::ImageReader::open(path)
        .ok()
        .and_then(|r| r.with_guessed_format().ok())
        .and_then(|r| r.into_decoder().ok())
        .and_then(|mut d| d.orientation().ok())
        .unwrap_or(image::metadata::Orientation::NoTransforms)
}

/// Detection on one TIFF without writing anything (`pixla check`): the same reading as
/// [`process`] (whole in memory up to `--max-megapixels`, else tile by tile) and the same
/// refusals (multi-page, over `--max-megapixels-tiled`). Returns the stored size, the
/// orientation and what was found (upright coordinates).
pub fn scan(
    path: &Path,
    cfg: &Config,
    models: &Models,
) -> anyhow::Result<(u32, u32, image::metadata::Orientation, Vec<Found>)> {
    decode::check_name(Format::Tiff, path)?;
    let info = tiff::inspect(path).context("cannot read the TIFF structure")?;
    let main = info.ifds.first().context("TIFF without an image")?;
    one_image(&info)?;
    if main.unsupported.is_some() {
        let bytes = std::fs::read(path).context("cannot read the file")?;
        let dec = decode::decode(&bytes, path, &cfg.limits)?;
        let found =
            detect_raster(&MemRaster(&dec.upright()), cfg, models).context("detection failed")?;
        return Ok((
            dec.image.width(),
            dec.image.height(),
            dec.orientation,
            found,
        ));
    }
    let (w, h) = (main.width, main.height);
    let mp = w as f64 * h as f64 / 1e6;
    if mp > cfg.limits.max_megapixels_tiled {
        return Err(FileError::new(FileErrorKind::Limit, format!("image is {w}x{h} ({mp:.0} MP), over the limit of {:.0} MP for tile-by-tile processing (--max-megapixels-tiled)", cfg.limits.max_megapixels_tiled)).into());
    }
    let orientation = tiff_orientation(path);
    let found = detect_tiff(path, &info, (w, h), orientation, cfg, models)?;
    Ok((w, h, orientation, found))
}
