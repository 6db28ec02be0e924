//! A TIFF `tiffedit` cannot edit in place (JPEG-in-TIFF, float samples...): decoded and
//! re-encoded whole with the `image` crate ([`fallback`]), if it fits the in-memory limit;
//! tags beyond the image structure are lost, and the report says why.

use crate::config::Config;
use crate::error::{FileError, FileErrorKind};
use crate::file::corrections::{edit_regions, Edits};
use crate::file::decoded::read_decoded;
use crate::file::failure::Classify;
use crate::file::plan::{apply_regions, plan_regions};
use crate::file::tiff::output::{copy_clean, record_output};
use crate::find::loaded::Models;
use crate::find::passes::detect_raster;
use crate::find::raster::MemRaster;
use crate::formats::decode::Decoded;
use crate::formats::encode;
use crate::fsio::walk::Job;
use crate::fsio::write_atomic;
use crate::report::{Encoding, FileEntry, Region, Status};
use anyhow::Context;
use image::DynamicImage;

/// Process a TIFF that cannot be edited in place (`why`: its layout) by decoding and
/// re-encoding it.
pub fn fallback(
    job: &Job,
    cfg: &Config,
    models: &Models,
    edits: Option<&Edits>,
    e: &mut FileEntry,
    why: &str,
) -> Result<(), FileError> {
    let (bytes, dec) = read_decoded(job, cfg, e)?;
    let up = dec.upright();
    let found = detect_raster(&MemRaster(&up), cfg, models)
        .context("detection failed")
        .kind(FileErrorKind::Internal)?;
    drop(up);
    let mut img = dec.image.clone();
    let (mut regions, not_hidden) =
        plan_regions(img.width(), img.height(), &found, dec.orientation, cfg);
    if let Some(ed) = edits {
        let (r, s) = edit_regions(regions, ed, img.width(), img.height(), cfg)
            .kind(FileErrorKind::Review)?;
        regions = r;
        e.suppressed = s;
    }
    apply_regions(&mut img, &regions, cfg);
    e.detections_not_hidden = not_hidden;
    if regions.is_empty() {
        e.status = Status::Clean;
        e.metadata_kept = dec.metadata.clone();
        e.regions = regions;
        copy_clean(job, e).classify(FileErrorKind::Io)?;
        return record_output(job, e);
    }
    let out = reencode(&img, &dec, &bytes, why, cfg, e)?;
    write_output(job, &out, regions, e)
}

/// The redacted pixels re-encoded as a TIFF; records why and what became of the metadata.
fn reencode(
    img: &DynamicImage,
    dec: &Decoded,
    bytes: &[u8],
    why: &str,
    cfg: &Config,
    e: &mut FileEntry,
) -> Result<Vec<u8>, FileError> {
    let enc = encode::encode(img, dec, bytes, &cfg.meta)
        .context("encoding failed")
        .classify(FileErrorKind::Decode)?;
    e.status = Status::Redacted;
    e.encoding = Some(Encoding::Reencode);
    e.fallback = Some(format!(
        "TIFF layout not editable in place ({why}); decoded and re-encoded, extra tags lost"
    ));
    e.metadata_kept = enc.metadata_kept;
    e.metadata_dropped = enc.metadata_dropped;
    Ok(enc.bytes)
}

/// Writes the output atomically and records its regions, path, hash and size.
fn write_output(
    job: &Job,
    out: &[u8],
    regions: Vec<Region>,
    e: &mut FileEntry,
) -> Result<(), FileError> {
    e.regions = regions;
    write_atomic(&job.output, out, Some(&job.input)).kind(FileErrorKind::Io)?;
    e.output = Some(job.rel.to_string_lossy().into_owned());
    e.output_sha256 = Some(crate::fsio::sha256_hex(out));
    e.output_bytes = Some(out.len() as u64);
    Ok(())
}
