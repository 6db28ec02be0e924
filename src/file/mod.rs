//! One file end to end: read and decode it, find what to hide, plan the regions and apply a
//! reviewer's corrections, hide them, encode and write the output, and fill the file's
//! report entry ([`process`]). A TIFF takes its own path ([`tiff`]), read and patched window
//! by window; `pixla check` reads a file the same way without writing ([`scan`]).

pub mod corrections;
pub mod failure;
pub mod plan;
pub mod scan;
pub mod tiff;

use crate::config::{Config, JpegMode};
use crate::error::{FileError, FileErrorKind};
use crate::file::corrections::{edit_regions, Edits};
use crate::file::failure::{panicked, Classify};
use crate::file::plan::{align_regions, apply_regions, dct_edits, plan_regions};
use crate::find::loaded::Models;
use crate::find::passes::detect_image;
use crate::find::Found;
use crate::formats::decode::{self, orientation_code, Decoded};
use crate::formats::encode;
use crate::formats::jpeg::lossless::{self, Grid};
use crate::fsio::walk::Job;
use crate::fsio::write_atomic;
use crate::redact::Method;
use crate::report::{Encoding, FileEntry, Status};
use crate::stats::{self, Stage};
use image::DynamicImage;
use std::path::Path;
use std::time::Instant;

pub(crate) fn rel_string(p: &Path) -> String {
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
        status: Status::Failed,
        ..Default::default()
    };
    // a panic in a decoder or a model's post-processing is one file's failure, not the batch's
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        process_inner(job, cfg, models, edits, &mut e)
    }))
    .unwrap_or_else(|p| Err(panicked(p.as_ref())));
    if let Err(err) = r {
        e.status = Status::Failed;
        e.error = Some(err.message);
        e.error_kind = Some(err.kind);
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
) -> Result<(), FileError> {
    use anyhow::Context;
    use FileErrorKind::{Decode, Internal, Io, Review};
    // the output can only land inside OUT: no link on the way (every write path, a review's
    // re-run included, comes through here)
    job.check_output().kind(Io)?;
    // a FIFO or device put in place after the walk is never opened (it could block)
    if !std::fs::metadata(&job.input)
        .with_context(|| "cannot read the file")
        .kind(Io)?
        .is_file()
    {
        return Err(FileError::new(
            Io,
            "not a regular file (a FIFO, socket, device or folder): not read",
        ));
    }
    if crate::file::tiff::is_tiff(&job.input).kind(Io)? {
        return crate::file::tiff::process(job, cfg, models, edits, e);
    }
    let t_stage = Instant::now();
    // std::fs::read opens read-only: an input is never opened for writing
    let bytes = std::fs::read(&job.input)
        .with_context(|| "cannot read the file")
        .kind(Io)?;
    e.input_sha256 = Some(crate::fsio::sha256_hex(&bytes));
    e.input_bytes = Some(bytes.len() as u64);
    let mut dec: Decoded = decode::decode(&bytes, &job.input, &cfg.limits).classify(Decode)?;
    e.format = Some(dec.format.as_str().into());
    e.width = Some(dec.image.width());
    e.height = Some(dec.image.height());
    e.orientation = Some(orientation_code(dec.orientation));
    let upright = dec.upright();
    stats::add(Stage::Decode, t_stage.elapsed().as_nanos() as u64);
    let found = detect_image(&upright, cfg, models)
        .context("detection failed")
        .kind(Internal)?;
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
        let (r, s) = edit_regions(regions, ed, w, h, cfg).kind(Review)?;
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
        e.status = Status::Clean;
        match encode::clean(&dec, &bytes, &cfg.meta)
            .context("rewriting the metadata failed")
            .classify(Decode)?
        {
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
            None => encode::encode(&img, &dec, &bytes, &cfg.meta)
                .context("encoding failed")
                .classify(Decode)?,
        };
        e.status = Status::Redacted;
        e.encoding = Some(if enc.quality.is_some() {
            Encoding::Reencode
        } else {
            Encoding::Lossless
        });
        e.blocks_changed = enc.blocks_changed;
        e.jpeg_quality = enc.quality;
        put(e, enc)
    };
    e.regions = regions;
    stats::add(Stage::Encode, t_stage.elapsed().as_nanos() as u64);
    let t_stage = Instant::now();
    write_atomic(&job.output, &out_bytes, Some(&job.input)).kind(Io)?;
    e.output = Some(rel_string(&job.rel));
    e.output_sha256 = Some(crate::fsio::sha256_hex(&out_bytes));
    e.output_bytes = Some(out_bytes.len() as u64);
    stats::add(Stage::Write, t_stage.elapsed().as_nanos() as u64);
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
