//! A JPEG or PNG end to end ([`process`]): read and decode it whole, find what to hide, plan
//! the regions (widened to the MCU grid on the lossless JPEG path) and apply a reviewer's
//! corrections, hide them in the pixels, encode the output (the input byte for byte, its
//! metadata rewritten, the DCT-domain edits or a re-encode) and write it. Each step records
//! what it learnt in the file's report entry as it goes, so a failure keeps what was known
//! of the input.

use crate::config::{Config, JpegMode};
use crate::error::{FileError, FileErrorKind};
use crate::file::corrections::{edit_regions, Edits};
use crate::file::failure::Classify;
use crate::file::plan::{align_regions, apply_regions, dct_edits, plan_regions};
use crate::find::loaded::Models;
use crate::find::passes::detect_image;
use crate::find::Found;
use crate::formats::decode::{self, orientation_code, Decoded};
use crate::formats::encode::{self, Encoded};
use crate::formats::jpeg::lossless::{self, Edit, Grid};
use crate::fsio::walk::Job;
use crate::fsio::write_atomic;
use crate::redact::Method;
use crate::report::{Encoding, FileEntry, Region, Status};
use crate::stats::{self, Stage};
use anyhow::Context;
use image::DynamicImage;
use std::time::Instant;

/// The regions to hide in one picture, and how they will be written.
struct Plan {
    regions: Vec<Region>,
    /// Detections left visible by their method (`none`).
    not_hidden: usize,
    /// The MCU grid when the lossless JPEG path is taken.
    grid: Option<Grid>,
    /// The DCT-domain edits of the lossless path, or why they cannot be made.
    dct: Result<Vec<Edit>, String>,
}

/// Process one JPEG or PNG job (see the module docs).
pub fn process(
    job: &Job,
    cfg: &Config,
    models: &Models,
    edits: Option<&Edits>,
    e: &mut FileEntry,
) -> Result<(), FileError> {
    let t_stage = Instant::now();
    let (bytes, mut dec) = read_decoded(job, cfg, e)?;
    let upright = dec.upright();
    stats::add(Stage::Decode, t_stage.elapsed().as_nanos() as u64);
    let found = detect_image(&upright, cfg, models)
        .context("detection failed")
        .kind(FileErrorKind::Internal)?;
    drop(upright);
    let t_stage = Instant::now();
    let plan = plan(&dec, &bytes, &found, cfg, edits, e)?;
    let img = redacted_pixels(&mut dec, &plan.regions, cfg);
    e.detections_not_hidden = plan.not_hidden;
    stats::add(Stage::Redact, t_stage.elapsed().as_nanos() as u64);
    let t_stage = Instant::now();
    let out_bytes = if plan.regions.is_empty() {
        clean_output(&dec, bytes, cfg, e)?
    } else {
        redacted_output(&dec, &bytes, &img, &plan, cfg, e)?
    };
    e.regions = plan.regions;
    stats::add(Stage::Encode, t_stage.elapsed().as_nanos() as u64);
    let t_stage = Instant::now();
    write_output(job, &out_bytes, e)?;
    stats::add(Stage::Write, t_stage.elapsed().as_nanos() as u64);
    Ok(())
}

/// The input's bytes (read-only: an input is never opened for writing) and their decoding;
/// records the input's hash, size, format, stored size and orientation. The TIFF fallback
/// reads through it too.
pub fn read_decoded(
    job: &Job,
    cfg: &Config,
    e: &mut FileEntry,
) -> Result<(Vec<u8>, Decoded), FileError> {
    let bytes = std::fs::read(&job.input)
        .context("cannot read the file")
        .kind(FileErrorKind::Io)?;
    e.input_sha256 = Some(crate::fsio::sha256_hex(&bytes));
    e.input_bytes = Some(bytes.len() as u64);
    let dec = decode::decode(&bytes, &job.input, &cfg.limits).classify(FileErrorKind::Decode)?;
    e.format = Some(dec.format.as_str().into());
    e.width = Some(dec.image.width());
    e.height = Some(dec.image.height());
    e.orientation = Some(orientation_code(dec.orientation));
    Ok((bytes, dec))
}

/// The regions to hide for what was found, with a reviewer's corrections; on the lossless
/// JPEG path widened to the MCU grid, with their DCT-domain edits. Records why the lossless
/// path is not taken (`fallback`) and the regions a reviewer left visible (`suppressed`).
fn plan(
    dec: &Decoded,
    bytes: &[u8],
    found: &[Found],
    cfg: &Config,
    edits: Option<&Edits>,
    e: &mut FileEntry,
) -> Result<Plan, FileError> {
    let (w, h) = (dec.image.width(), dec.image.height());
    let grid = lossless_grid(dec, bytes, found, cfg).unwrap_or_else(|why| {
        e.fallback = Some(why);
        None
    });
    let (mut regions, not_hidden) = plan_regions(w, h, found, dec.orientation, cfg);
    if let Some(g) = &grid {
        // aligned before a review's suppress boxes are matched: they come from a report
        // whose boxes were aligned the same way
        regions = align_regions(regions, g);
    }
    if let Some(ed) = edits {
        let (r, s) = edit_regions(regions, ed, w, h, cfg).kind(FileErrorKind::Review)?;
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
    Ok(Plan {
        regions,
        not_hidden,
        grid,
        dct,
    })
}

/// The stored pixels with the regions hidden, taken out of `dec` (no copy of the picture is
/// made); an empty image when there is nothing to hide (the clean paths still need the
/// pixels as decoded).
fn redacted_pixels(dec: &mut Decoded, regions: &[Region], cfg: &Config) -> DynamicImage {
    let mut img = if regions.is_empty() {
        DynamicImage::new_rgb8(0, 0)
    } else {
        std::mem::replace(&mut dec.image, DynamicImage::new_rgb8(0, 0))
    };
    apply_regions(&mut img, regions, cfg);
    img
}

/// The output of a picture with nothing to hide: the input byte for byte when it holds only
/// the examined image, else its metadata rewritten around the untouched image data
/// (previews re-rendered, data after the image dropped, or stripping asked for); a PNG that
/// is stripped is re-encoded losslessly.
fn clean_output(
    dec: &Decoded,
    bytes: Vec<u8>,
    cfg: &Config,
    e: &mut FileEntry,
) -> Result<Vec<u8>, FileError> {
    e.status = Status::Clean;
    let rewritten = encode::clean(dec, &bytes, &cfg.meta)
        .context("rewriting the metadata failed")
        .classify(FileErrorKind::Decode)?;
    Ok(match rewritten {
        None => {
            e.encoding = Some(Encoding::Copy);
            e.metadata_kept = dec.metadata.clone();
            bytes
        }
        Some(enc) => {
            let png_stripped = dec.format == decode::Format::Png && cfg.meta.strips();
            e.encoding = Some(if png_stripped {
                Encoding::Lossless
            } else {
                Encoding::MetadataOnly
            });
            record_metadata(e, enc)
        }
    })
}

/// The output of a picture with regions hidden: the DCT-domain edits when the lossless
/// path is taken and succeeds (else why not, in `fallback`), or the redacted pixels
/// re-encoded.
fn redacted_output(
    dec: &Decoded,
    bytes: &[u8],
    img: &DynamicImage,
    plan: &Plan,
    cfg: &Config,
    e: &mut FileEntry,
) -> Result<Vec<u8>, FileError> {
    let lossless = plan.grid.as_ref().and_then(|g| {
        match plan
            .dct
            .clone()
            .map_err(anyhow::Error::msg)
            .and_then(|d| encode::encode_jpeg_lossless(bytes, &d, img, &cfg.meta))
        {
            Ok(x) => {
                e.mcu = Some([g.mcu_w, g.mcu_h]);
                Some(x)
            }
            Err(why) => {
                e.fallback = Some(format!("lossless path failed ({why:#}); re-encoded"));
                None
            }
        }
    });
    let enc = match lossless {
        Some(x) => x,
        None => encode::encode(img, dec, bytes, &cfg.meta)
            .context("encoding failed")
            .classify(FileErrorKind::Decode)?,
    };
    e.status = Status::Redacted;
    e.encoding = Some(if enc.quality.is_some() {
        Encoding::Reencode
    } else {
        Encoding::Lossless
    });
    e.blocks_changed = enc.blocks_changed;
    e.jpeg_quality = enc.quality;
    Ok(record_metadata(e, enc))
}

/// Records what became of the metadata; returns the encoded bytes.
fn record_metadata(e: &mut FileEntry, enc: Encoded) -> Vec<u8> {
    e.metadata_kept = enc.metadata_kept;
    e.metadata_dropped = enc.metadata_dropped;
    e.metadata_removed = enc.metadata_removed;
    e.metadata_regenerated = enc.metadata_regenerated;
    enc.bytes
}

/// Writes the output atomically (with the input's mode) and records its path, hash and
/// size.
fn write_output(job: &Job, out_bytes: &[u8], e: &mut FileEntry) -> Result<(), FileError> {
    write_atomic(&job.output, out_bytes, Some(&job.input)).kind(FileErrorKind::Io)?;
    e.output = Some(job.rel.to_string_lossy().into_owned());
    e.output_sha256 = Some(crate::fsio::sha256_hex(out_bytes));
    e.output_bytes = Some(out_bytes.len() as u64);
    Ok(())
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
    lossless::grid(bytes)
        .map(Some)
        .map_err(|e| format!("lossless path not possible ({e:#}); re-encoded"))
}
